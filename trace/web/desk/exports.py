"""The desk: exports (to be built)."""
