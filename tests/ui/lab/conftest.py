"""Prompt Lab AppTest helpers: a facilitator account, every table's rows (to show nothing was
written), and waiting for the variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit_authenticator as stauth
import yaml
from sqlalchemy import MetaData, select
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[3]
LAB = "app_pages/prompt_lab.py"


@pytest.fixture
def facilitator(env, accounts) -> str:
    """Adds 'fran' (role facilitator) to the auth file; returns her password."""
    config = yaml.safe_load(env.auth_file.read_text())
    config["credentials"]["usernames"]["fran"] = {
        "email": "fran@example.com",
        "first_name": "Fran",
        "last_name": "",
        "password": stauth.Hasher.hash("fran-secret-1"),
        "roles": ["facilitator"],
    }
    env.auth_file.write_text(yaml.safe_dump(config))
    return "fran-secret-1"


def all_rows(store) -> dict[str, list[str]]:
    meta = MetaData()
    meta.reflect(store.engine)
    with store.engine.connect() as conn:
        return {
            name: sorted(
                json.dumps(dict(r), default=str, sort_keys=True)
                for r in conn.execute(select(t)).mappings()
            )
            for name, t in meta.tables.items()
        }


def finish(at: AppTest) -> AppTest:
    """Wait for the variants (AppTest never runs the streaming fragment on its own), then
    draw the page again as the fragment's closing rerun does in a browser."""
    assert at.session_state["_lab_shown"].experiment.join(10)
    return at.run()


def lab_as(app: AppTest, login, user: str, password: str) -> AppTest:
    login(app, user, password)
    assert app.session_state["authentication_status"] is True
    return app.switch_page(LAB).run()
