"""The AWS service's domain: tenants and API keys, integrations, assistants, spec ingestion, tool listing.

Pure Python: AWS is reached only through the protocols in `toolgate.service.ports`, which
`toolgate.adapters.aws` implements with boto3.
"""
