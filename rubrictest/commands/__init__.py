"""CLI commands, one module per command; each defines a click object named ``command``."""
