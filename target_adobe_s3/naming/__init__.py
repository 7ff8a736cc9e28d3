"""Naming: macros, object keys and the manifest (pure functions)."""
