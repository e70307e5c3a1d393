"""Benchmarks of the rollup engine (`make bench` runs ``python -m benchmarks.run``)."""
