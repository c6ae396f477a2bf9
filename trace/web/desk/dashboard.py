"""The desk: dashboard (to be built)."""
