"""Outputs: provenance, figures and the HTML report; they read columns, never compute statistics."""
