"""Alembic migrations for the Duet store, applied by ``Store`` at start-up (see migrate.py)."""
