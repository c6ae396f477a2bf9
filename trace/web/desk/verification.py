"""The desk: verification (to be built)."""
