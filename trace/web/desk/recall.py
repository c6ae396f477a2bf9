"""The desk: recall (to be built)."""
