"""Built-in CLI commands: one module per command, each defining a click command ``command``."""
