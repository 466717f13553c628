"""boto3 adapters for the service: the DynamoDB store, S3 objects, Secrets Manager, tenant-scoped sessions."""
