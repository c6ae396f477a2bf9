"""The architecture's rules (docs/architecture.md): the import contracts in setup.cfg bite."""
