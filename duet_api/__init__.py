"""Duet's HTTP API: the runs, the prompt library and the Prompt Lab for programs (FastAPI,
mounted under ``/api`` by ``serve.py`` beside the pages; docs/design.md, "HTTP API").

A thin skin over ``duet_core``, like the pages: ``deps`` gives each route the process's
services and the caller, one router per resource (``routes/``), pydantic models in and out
(``schemas``), and one handler that turns a ``DuetError`` into ``{"detail"}`` with its status
(``errors``). Never imports Streamlit.
"""
