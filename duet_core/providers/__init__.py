"""Providers: one class per request format (see base.py for the streaming contract)."""
