"""Benchmarks, run as ``python -m harness.benchmarks.<name>``; each has ``run(...) -> dict``."""
