"""Benchmarks against plain SDV: printed tables, written to bench/RESULTS.md.

Run ``make bench`` (or ``python -m bench --help`` for sections and filters). Numbers are
measured, never asserted: tests check behaviour, benchmarks report speed.
"""
