"""The prompt library in a real browser: a template saved on the Prompts page is used by a bot
on the conversation page, and its name and version show in the turn's caption; a click on a
template's row opens it; "Try it" shows a model's reply (the fake LLM server)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from duet_core.store import Store
from tests.browser import ui
from tests.browser.conftest import AppServer
from tests.browser.fake_llm import FakeLLM

pytestmark = pytest.mark.browser

PERSONA = "You are {{ my_name }}, a {{ style }} librarian."


ROW = 35  # px: the table's header and each row


def open_prompts(page: Page, url: str) -> None:
    page.goto(f"{url}/prompts")
    expect(page.get_by_role("heading", name="Prompts")).to_be_visible()
    ui.wait_idle(page)


def click_template(page: Page, row: int) -> None:
    """A click on the name of the template in ``row`` (0: the first) of the templates table."""
    table = page.locator(ui.key("prompts_table"))
    expect(table.locator("canvas").first).to_be_visible()
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 90, box["y"] + ROW + ROW * row + ROW / 2)


def message_box(page: Page, i: int):
    return page.locator(ui.key(f"prompts_content_{i}")).locator("textarea")


def fill(page: Page, widget_key: str, text: str) -> None:
    box = page.locator(ui.key(widget_key)).locator("input")
    box.fill(text)
    box.press("Enter")
    ui.wait_idle(page)


def save_template(page: Page, url: str, name: str, note: str) -> None:
    open_prompts(page, url)
    new = page.locator(ui.key("prompts_new")).get_by_role("button")
    if new.is_enabled():  # other templates are saved already: start a new one
        new.click()
        ui.wait_idle(page)
    expect(page.locator(ui.key("prompts_new_name")).locator("input")).to_have_value("")
    fill(page, "prompts_new_name", name)
    message_box(page, 0).fill(PERSONA)
    message_box(page, 0).blur()  # a text area sends its text when it loses focus
    ui.wait_idle(page)
    fill(page, "prompts_note", note)
    page.locator(ui.key("prompts_save")).get_by_role("button").click()
    expect(page.get_by_text(f"{name} v1 saved")).to_be_visible()


def test_a_saved_template_is_used_by_a_bot_and_shown_on_its_turn(
    page: Page, app_server: AppServer
) -> None:
    save_template(page, app_server.url, "librarian", "first version")
    with Store(app_server.env["DUET_DATABASE_URL"]) as store:  # the edited cell was saved
        saved = store.prompts.get("librarian")
    assert (saved.version, saved.note) == (1, "first version")
    assert saved.message_dicts() == [{"role": "system", "content": PERSONA}]
    # its history shows v1 with the note
    page.get_by_role("tab", name="History").click()
    expect(page.get_by_test_id("stExpander").first).to_contain_text("v1 · ")
    expect(page.get_by_test_id("stExpander").first).to_contain_text("first version")

    ui.open_app(page, app_server.url)
    page.locator(ui.key("bot0_persona_source")).get_by_text("Saved template").click()
    ui.select_option(page, "bot0_prompt_name", "librarian")
    expect(ui.combobox(page, "bot0_prompt_version")).to_have_value("latest (v1)")
    style = page.locator(ui.key("bot0_var_style")).locator("input")
    style.fill("calm")
    style.press("Enter")
    ui.set_number(page, "max_turns", 1)
    ui.wait_idle(page)
    ui.start(page)
    expect(ui.header(page)).to_contain_text("completed", timeout=60_000)
    caption = page.get_by_test_id("stChatMessage").first.get_by_test_id("stCaptionContainer")
    expect(caption.last).to_contain_text("template librarian v1")


def test_a_click_on_a_template_row_opens_it(page: Page, app_server: AppServer) -> None:
    with Store(app_server.env["DUET_DATABASE_URL"]) as store:
        store.prompts.save("aaa-first", [{"role": "system", "content": "I am the first."}])
        store.prompts.save("aab-second", [{"role": "system", "content": "I am the second."}])
    open_prompts(page, app_server.url)
    expect(message_box(page, 0)).to_have_value("I am the first.")  # the first opens
    click_template(page, 1)
    expect(page.get_by_role("heading", name="aab-second")).to_be_visible()
    expect(message_box(page, 0)).to_have_value("I am the second.")
    ui.wait_idle(page)
    click_template(page, 0)
    expect(message_box(page, 0)).to_have_value("I am the first.")


def test_try_it_shows_a_reply_from_a_model(
    page: Page, app_server: AppServer, fake_llm: FakeLLM
) -> None:
    with Store(app_server.env["DUET_DATABASE_URL"]) as store:
        store.prompts.save(
            "aaa-asker",
            [
                {"role": "system", "content": "You are {{ my_name }}."},
                {"role": "human", "content": "Tea or coffee?"},
            ],
        )
        runs_before = store.list_runs().total
    open_prompts(page, app_server.url)
    expect(page.get_by_role("heading", name="aaa-asker")).to_be_visible()
    page.get_by_role("tab", name="Try it").click()
    fill(page, "prompts_try_my_name", "Ada")
    ui.select_option(page, "prompts_try_provider", "OpenAI")
    expect(page.locator(ui.key("prompts_try_model")).locator("input")).to_have_value("gpt-4.1-mini")
    ui.wait_idle(page)
    asked = len(fake_llm.bodies("/chat/completions"))
    page.locator(ui.key("prompts_try_send")).get_by_role("button").click()
    reply = page.get_by_test_id("stChatMessage").last
    expect(reply).to_contain_text("from gpt-4.1-mini:", timeout=30_000)
    expect(reply).to_contain_text("still going and the person", timeout=30_000)  # all of it
    expect(page.get_by_text("tokens · first token")).to_be_visible()  # the reply's figures
    body = fake_llm.bodies("/chat/completions")[asked]
    assert body["messages"] == [
        {"role": "system", "content": "You are Ada."},
        {"role": "user", "content": "Tea or coffee?"},
    ]
    with Store(app_server.env["DUET_DATABASE_URL"]) as store:
        assert store.list_runs().total == runs_before  # nothing saved
