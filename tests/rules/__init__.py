"""Family rules and food knowledge (farmtrace.rules): pure functions over proposals, no database."""
