"""The desk: audit (to be built)."""
