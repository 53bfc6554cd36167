"""A simulated literature of small trials, and its meta-analysis."""
