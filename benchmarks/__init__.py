"""Benchmarks kept out of the default test run: speed, and quality in a synthetic world."""
