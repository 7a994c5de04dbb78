"""The gateway: HTTP surfaces, durable intake, dispatch and delivery workers, the CLI."""
