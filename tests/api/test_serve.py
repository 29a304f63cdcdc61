"""The API as ``make run`` serves it: ``streamlit run serve.py`` (st.App with the API mounted
under /api, /health, the pages), and what SIGTERM does to runs and their streams."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from duet_core.store import Store
from tests.api.conftest import data_events, read_until, run_config
from tests.browser.conftest import AppServer


@pytest.fixture
def served(tmp_path: Path):
    server = AppServer(
        {
            "DUET_DEV_MODE": "1",
            "DUET_DATABASE_URL": f"sqlite:///{tmp_path / 'duet.db'}",
            "DUET_AUTH_FILE": str(tmp_path / "auth.yaml"),
        },
        tmp_path / "streamlit.log",
    ).start()
    yield server
    server.stop()


def test_served_beside_the_pages_and_sigterm_interrupts_runs(served: AppServer, tmp_path: Path):
    with httpx.Client(base_url=served.url, timeout=20) as c:
        assert c.get("/health").json()["status"] == "ok"
        assert c.get("/api/openapi.json").json()["info"]["title"] == "Duet"
        assert c.get("/api/docs").status_code == 200
        assert "<html" in c.get("/").text.lower()  # the pages are still there
        watched = c.post("/api/run", json=run_config(turns=6)).json()["id"]
        unwatched = c.post("/api/run", json=run_config(turns=6)).json()["id"]
        assert c.get("/health").json()["active_runs"] == 2
        with c.stream("GET", f"/api/stream/{watched}") as r:
            events = data_events(r.iter_lines())
            read_until(events, "token")
            began = time.monotonic()
            served.proc.terminate()  # SIGTERM
            rest = read_until(events, "end")
        assert rest[-2].data == {
            "type": "status",
            "status": "interrupted",
            "stop_reason": "shutdown",
            "error": None,
        }
    try:
        served.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit within 10 s:\n{served.log_tail()}")
    assert time.monotonic() - began < 10
    with Store(f"sqlite:///{tmp_path / 'duet.db'}") as store:
        for run_id in (watched, unwatched):
            run = store.get_run(run_id)
            assert (run.status.value, run.stop_reason) == ("interrupted", "shutdown")
