"""`farmtrace bench`: the benchmark suite (docs/benchmarks.md). Not part of the core: it drives the
services and the web app like a user would."""
