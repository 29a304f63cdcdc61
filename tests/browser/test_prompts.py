"""The prompt library in a real browser: a template saved on the Prompts page is used by a bot
on the conversation page, and its name and version show in the turn's caption."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from duet_core.store import Store
from tests.browser import ui
from tests.browser.conftest import AppServer

pytestmark = pytest.mark.browser

PERSONA = "You are {{ my_name }}, a {{ style }} librarian."


def edit_content(page: Page, editor: str, row: int, text: str) -> None:
    """Type ``text`` into the content cell of ``row`` in the st.data_editor with key
    ``editor`` (a canvas grid: double-click the cell to edit it, Enter to commit)."""
    grid = page.locator(ui.key(editor)).get_by_test_id("stDataFrameResizable")
    expect(grid).to_be_visible()
    box = grid.bounding_box()
    assert box is not None
    header = row_height = 35
    # the content column is the wide right one: 70% across is inside it
    page.mouse.dblclick(box["x"] + box["width"] * 0.7, box["y"] + header + row_height * (row + 0.5))
    cell = page.locator("textarea.gdg-input")  # the grid's overlay editor for that cell
    expect(cell).to_be_visible()
    cell.fill(text)
    cell.press("Enter")
    expect(cell).to_have_count(0)


def save_template(page: Page, url: str, name: str, note: str) -> None:
    page.goto(f"{url}/prompts")
    expect(page.get_by_role("heading", name="📝 Prompts")).to_be_visible()
    name_box = page.locator(ui.key("prompts_new_name")).locator("input")
    name_box.fill(name)
    name_box.press("Enter")
    ui.wait_idle(page)
    editor = page.locator('[class*="st-key-prompts_editor_"]').first
    editor_key = next(
        c.removeprefix("st-key-")
        for c in (editor.get_attribute("class") or "").split()
        if c.startswith("st-key-prompts_editor_")
    )
    edit_content(page, editor_key, 0, PERSONA)
    ui.wait_idle(page)
    note_box = page.locator(ui.key("prompts_note")).locator("input")
    note_box.fill(note)
    note_box.press("Enter")
    ui.wait_idle(page)
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
