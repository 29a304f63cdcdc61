"""Numbered migrations: 0001_initial.py, 0002_..., each revising the one before."""
