"""CLI subcommands, one module an area; each exposes ``register(subparsers)``."""
