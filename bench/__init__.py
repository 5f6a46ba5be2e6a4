"""Benchmarks, not run by ``make test``: ``python -m bench.signaling``, ``bench.media``."""
