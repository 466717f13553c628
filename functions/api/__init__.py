"""The management REST API function."""
