"""A run started and steered over HTTP, watched live on the conversation page: the page shows
the value a PATCH set, a slider moved on the page reaches the API client's stream, and Stop
pressed on the page ends that stream."""

from __future__ import annotations

import json
import threading

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import ui
from tests.browser.conftest import AppServer
from tests.browser.fake_llm import FakeLLM
from tests.waiting import wait_for

pytestmark = pytest.mark.browser

GPT = {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.7}


def test_a_run_started_over_http_is_watched_and_stopped_on_the_page(
    page: Page, app_server: AppServer, fake_llm: FakeLLM
) -> None:
    fake_llm.delay = 0.25  # about 6 s a turn: time to patch, watch and stop mid-run
    api = httpx.Client(base_url=f"{app_server.url}/api", timeout=60)
    config = {
        "topic": "Trams or buses?",
        "max_turns": 12,  # about 70 s of turns: Stop comes long before the end
        "bots": [{"name": "Ada", **GPT}, {"name": "Bob", **GPT}],
    }
    run_id = api.post("/run", json=config).json()["id"]

    events: list[dict] = []
    ended = threading.Event()

    def read_stream() -> None:
        with api.stream("GET", f"/stream/{run_id}") as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if events[-1]["type"] == "end":
                        ended.set()
                        return

    reader = threading.Thread(target=read_stream, daemon=True)
    reader.start()

    page.goto(f"{app_server.url}/?run={run_id}")
    expect(ui.header(page)).to_contain_text("running")
    ui.wait_text_grows(page, ui.live_turn(), 0)  # the tokens stream on the page
    ui.open_setup(page)  # folded while a run streams: the person unfolds it to watch the bots

    patched = api.patch(f"/run/{run_id}/bot/0", json={"temperature": 1.3})
    assert patched.status_code == 200 and patched.json()["temperature"] == 1.3
    slider = page.locator(ui.key("bot0_temperature")).get_by_role("slider")
    expect(slider).to_have_value("1.3", timeout=30_000)  # the page shows the patched value
    assert any(e["type"] == "bot_updated" and e["changes"] == {"temperature": 1.3} for e in events)

    ui.slide_to(page, "bot1_temperature", 0.9)  # and the other way: the page to the API

    def moved() -> list[dict]:
        return [e for e in events if e["type"] == "bot_updated" and e["bot_index"] == 1]

    # a drag may pass through other values on its way (0.75, 0.85): wait for where it ends
    wait_for(lambda: any(e["changes"] == {"temperature": 0.9} for e in moved()), 20, "0.9")
    assert moved()[-1]["changes"] == {"temperature": 0.9}, moved()
    assert api.get(f"/run/{run_id}").status_code == 200

    page.locator(ui.key("stop")).get_by_role("button").click()
    assert ended.wait(10), [e["type"] for e in events]
    status = [e for e in events if e["type"] == "status"][-1]
    assert status["status"] == "stopped" and status["stop_reason"] == "user"
    expect(ui.header(page)).to_contain_text("stopped")
    # the page never sent its older value back over the PATCH (a timer tick from before it
    # drew 1.3 once came back as a change to 0.7)
    ada = [e["changes"] for e in events if e["type"] == "bot_updated" and e["bot_index"] == 0]
    assert ada == [{"temperature": 1.3}]
    expect(slider).to_have_value("1.3")
    api.close()
