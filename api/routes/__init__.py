"""Thin route modules, one per resource; each exposes ``router``."""
