"""Scenario models, instruments, loading with overrides, and the sources of defaults."""
