"""The upload function: S3 ObjectCreated events from SQS, compiled into integrations."""
