"""The API Gateway Lambda authorizer: tenant API key to tenant context."""
