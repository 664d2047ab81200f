"""Evaluation suites, baselines and the reports they produce (not shipped in the wheel)."""
