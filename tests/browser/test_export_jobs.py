"""A big export from History in a real browser: its progress shows, its file downloads, and
once the tab is closed nothing is left on the server: no export process, no file."""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn, utcnow
from duet_core.store import Store
from duet_ui.history.data import BULK_INLINE_TURNS
from tests.browser import ui
from tests.browser.conftest import AppServer
from tests.waiting import wait_for

pytestmark = pytest.mark.browser
RUNS, TURNS = 30, 80  # more turns than an export builds on click: a background job


@pytest.fixture(scope="module")
def export_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    tmp = tmp_path_factory.mktemp("exports")
    url = f"sqlite:///{tmp / 'duet.db'}"
    bots = [BotConfig(name="Ada"), BotConfig(name="Bo")]
    with Store(url) as store:
        for r in range(RUNS):
            start = utcnow() - timedelta(hours=RUNS - r)
            run = Run(
                owner="dev",
                config=RunConfig(topic=f"Topic {r}", max_turns=TURNS, bots=bots),
                status=RunStatus.COMPLETED,
                created_at=start,
            )
            run.turns = [
                Turn(index=i, bot_index=i % 2, bot_name=bots[i % 2].name, config=bots[i % 2],
                     content=f"Run {r} turn {i + 1}.", started_at=start, finished_at=start)
                for i in range(TURNS)
            ]  # fmt: skip
            store.create_run(run)
    assert RUNS * TURNS > BULK_INLINE_TURNS
    (tmp / "server-tmp").mkdir()
    env = {"DUET_DEV_MODE": "1", "DUET_DATABASE_URL": url, "TMPDIR": str(tmp / "server-tmp")}
    server = AppServer(env, tmp / "streamlit.log")
    server.start()
    yield server
    server.stop()


def export_files(server: AppServer) -> list[Path]:
    return [p for p in Path(server.env["TMPDIR"]).glob("duet-exports-*/*") if p.is_file()]


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def open_history(page: Page, server: AppServer) -> None:
    page.goto(f"{server.url}/history")
    # the first page of a fresh server imports the app's modules: on a busy machine, slow
    expect(page.get_by_text(f"Export all {RUNS} filtered runs")).to_be_visible(timeout=90_000)
    ui.wait_idle(page)


def test_progress_download_and_nothing_left_once_the_tab_is_closed(
    page: Page, export_server: AppServer
) -> None:
    open_history(page, export_server)
    page.get_by_text(f"Export all {RUNS} filtered runs").click()
    page.locator(ui.key("export_start_csv")).get_by_role("button").click()
    progress = page.get_by_text(re.compile(rf"Writing [\d,]+ of {RUNS * TURNS:,} turns"))
    expect(progress).to_be_visible()
    button = page.locator(ui.key("download_export_file")).get_by_role("button")
    expect(button).to_be_visible(timeout=60_000)
    expect(button).to_contain_text("duet-runs.csv.gz")
    assert len(export_files(export_server)) == 1
    assert children(export_server.pid) == []  # the export's process has ended

    with page.expect_download() as info:
        button.click()
    rows = pd.read_csv(io.BytesIO(gzip.decompress(Path(info.value.path()).read_bytes())))
    assert len(rows) == RUNS * TURNS
    assert rows["content"].iloc[0] == f"Run {RUNS - 1} turn 1."

    page.context.close()  # the session ends: its export goes soon after
    wait_for(
        lambda: not export_files(export_server), timeout=60, what="the export file to be deleted"
    )
    assert children(export_server.pid) == []


def test_a_tab_closed_while_exporting_ends_the_export(page: Page, export_server: AppServer) -> None:
    open_history(page, export_server)
    page.get_by_text(f"Export all {RUNS} filtered runs").click()
    page.locator(".st-key-export_compress label").click()  # not compressed this time
    ui.wait_idle(page)
    page.locator(ui.key("export_start_jsonl")).get_by_role("button").click()
    expect(page.get_by_text(re.compile(r"Writing [\d,]+ of"))).to_be_visible()
    page.context.close()  # at once, the export most likely still running
    wait_for(
        lambda: not export_files(export_server), timeout=60, what="the export file to be deleted"
    )
    wait_for(lambda: not children(export_server.pid), timeout=60, what="the export process to end")
