"""The `toolgate` command: compile and lint specs, call a tool, bootstrap a tenant, drive a stack's API
(`client.ToolgateClient`) and run the local stack. Not shipped to Lambda."""
