"""Intake: Singer lines in, typed records out (the line reader and the fast decoder)."""
