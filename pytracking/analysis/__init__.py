"""Scoring tracking results: per-frame errors, success and precision curves, tables."""
