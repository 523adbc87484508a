"""Benchmarks run from the command line (``python -m backend bench ...``)."""
