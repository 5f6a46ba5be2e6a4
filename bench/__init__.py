"""Benchmarks (not run by ``make test``): ``python -m bench.signaling``, ``python -m bench.media``."""
