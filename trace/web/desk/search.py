"""The desk: search (to be built)."""
