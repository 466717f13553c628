"""Lambda functions of the Toolgate service; each `<name>/handler.py` exposes `lambda_handler`."""
