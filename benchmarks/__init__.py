"""Benchmarks (make bench-*): numbers go to docs/benchmarks.md."""
