"""The desk: graph (to be built)."""
