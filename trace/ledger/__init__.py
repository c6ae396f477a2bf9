"""Pure formats and proofs, no database and no web: canonical JSON (RFC 8785), signatures, the
event envelope, RFC 6962 Merkle proofs, signed checkpoints and offline bundle verification.

This is what `scripts/verify-offline` runs and `trace/web/static/verify.js` mirrors, so it imports
nothing else of farmtrace (see docs/architecture.md and the contracts in setup.cfg).
"""
