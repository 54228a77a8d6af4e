"""Benchmarks: each measures ours against a reference side by side in one run (``whynets bench NAME``)."""
