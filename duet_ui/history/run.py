"""One saved run on the History page: header, downloads (built only when pressed), Continue,
Delete, then two tabs drawn only when open: the transcript (its last ``SHOW_LAST`` turns
unless asked) and the charts (cached). A tab not shown costs nothing: the browser's part of
a run page was mostly its 40 chat messages and two Vega charts (bench/history_browser.py)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from duet_core.errors import DuetError
from duet_core.models import Run, RunConfig, RunStatus, Turn
from duet_core.vocabulary import can_continue
from duet_ui.evals.run_view import Beside, evaluation_panel
from duet_ui.history import data as hd
from duet_ui.history.charts import render_run_charts
from duet_ui.shared.bot_form import pasted_keys
from duet_ui.shared.topic import topic_heading
from duet_ui.shared.transcript import (
    avatar_for,
    bot_colour,
    change_notes,
    escape_markdown,
    render_change_notes,
    render_error,
    render_turn_body,
    turn_caption,
)
from duet_ui.shell.services import Services, Viewer

SHOW_LAST = 40
TRANSCRIPT_TAB, CHARTS_TAB = ":material/chat: Transcript", ":material/bar_chart: Charts"
VIEW_KEY = "history_run_view"  # which tab is open, kept for the session (as any widget)
DELETED_KEY = "_history_deleted"  # the run last deleted (all of it), until Undo or dismissed


def spreadsheet_toggle() -> bool:
    """The CSV downloads' spreadsheet-safe switch (one key: the list's and a run's files)."""
    return st.toggle(
        "Spreadsheet-safe CSV",
        key="csv_spreadsheet_safe",
        help="Put an apostrophe before cells a spreadsheet would run as a formula (= + - @).",
    )


def deleted_notice(svc: Services) -> None:
    """After a delete: what went, with Undo (the run and its turns written back as they
    were) and a way to dismiss the note."""
    run: Run | None = st.session_state.get(DELETED_KEY)
    if run is None:
        return

    def undo() -> None:
        st.session_state.pop(DELETED_KEY, None)
        if svc.store.get_run(run.id) is None:
            svc.store.create_run(run)
        hd.forget_listing(st.session_state)
        st.query_params["run"] = run.id  # open again where it was

    with st.container(horizontal=True, vertical_alignment="center", key="history_deleted"):
        st.success(
            f"Deleted “{escape_markdown(hd.short(run.config.topic, 60))}”"
            f" ({len(run.turns)} turns).",
            icon=":material/delete:",
            width="stretch",
        )
        st.button("Undo", key="undo_delete", icon=":material/undo:", on_click=undo)
        st.button(
            "Dismiss",
            key="dismiss_deleted",
            icon=":material/close:",
            on_click=lambda: st.session_state.pop(DELETED_KEY, None),
        )


def download_buttons(run: Run, spreadsheet_safe: bool = False) -> None:
    """JSON, CSV, JSONL, Markdown and PDF of the run; each file is made on click."""
    downloads = hd.run_downloads(run, spreadsheet_safe=spreadsheet_safe)
    row = st.container(horizontal=True, gap="small")  # each label whole; wraps when narrow
    for d in downloads:
        row.download_button(
            d.label,
            data=d.data,
            file_name=d.file_name,
            mime=d.mime,
            on_click="ignore",
            key=d.key,
            icon=":material/download:",
        )


def turn_header(turn: Turn, run_config: RunConfig | None = None) -> str:
    """The coloured name, then the turn's figures (``turn_caption``) small and grey."""
    label = turn.bot_name or ("Person" if turn.by_person else "Bot")
    head = f"**:{bot_colour(turn.bot_index)}[{escape_markdown(label)}]**"
    caption = turn_caption(turn, run_config)
    return f"{head} :gray[:small[{escape_markdown(caption)}]]" if caption else head


def render_saved_turn(
    turn: Turn, run_config: RunConfig | None = None, beside: Beside | None = None
) -> None:
    """A saved turn as ``transcript.render_turn`` shows it, in three elements instead of four:
    the figures ride on the name's line instead of a caption below (40 turns drawn in 0.24 s
    of Chromium CPU instead of 0.42 s, by click: bench/history_browser.py). ``beside``: drawn
    after the text (the turn's scores, duet_ui/evals/run_view.py)."""
    label = turn.bot_name or ("Person" if turn.by_person else "Bot")
    with st.chat_message(label, avatar=avatar_for(turn, run_config)):
        st.markdown(turn_header(turn, run_config))
        render_turn_body(turn)
        if beside is not None:
            beside(turn)


def render_transcript(run: Run, show_all: bool, beside: Beside | None = None) -> None:
    """The turns with their settings notes; only the last ``SHOW_LAST`` unless
    ``show_all`` (the notes are worked out over the whole run either way)."""
    notes = change_notes(run.turns)
    shown = run.turns if show_all else run.turns[-SHOW_LAST:]
    for turn in shown:
        if turn.index in notes:
            render_change_notes(notes[turn.index])
        render_saved_turn(turn, run.config, beside)


def show_run(
    run: Run,
    svc: Services,
    viewer: Viewer,
    *,
    spreadsheet_safe: bool = False,
    family: Callable[[Run], None] | None = None,
    on_close: Callable[[], None] | None = None,
) -> None:
    """The run's header, downloads and actions, then its transcript or charts. ``on_close``:
    a Close button beside the topic calls it (the run opened under the History list)."""
    status = RunStatus(run.status)
    with st.container(horizontal=True, vertical_alignment="center"):
        topic_heading(run.config.topic, "history")  # one line; the whole topic on demand
        if on_close is not None:
            st.button(
                "Close",
                key="close_run",
                icon=":material/close:",
                help="Close this run; the list and its ticks stay as they are.",
                on_click=on_close,
            )
    bots = " · ".join(
        f"**{escape_markdown(b.name)}** ({b.provider}/{escape_markdown(b.model)})"
        for b in run.config.bots
    )
    stop = f" ({run.stop_reason})" if run.stop_reason else ""
    st.markdown(f"{bots}  \nStatus: **{status.value}**{stop} · run `{run.id}` · {run.owner}")
    if run.error:
        render_error(run.error)  # a provider's words: images as links, keys redacted
    if family is not None:
        family(run)  # the run it branched from, its branches (Prompt Lab)

    download_buttons(run, spreadsheet_safe)

    act1, act2, act3 = st.columns([1, 2, 1], vertical_alignment="bottom")
    if can_continue(status) and act1.button("Continue", key="continue_run", icon=":material/redo:"):
        try:
            svc.manager.continue_run(
                run.id,
                viewer.username,
                keys=pasted_keys(),
                is_admin=viewer.is_admin,
                rate_limited=not svc.settings.dev_mode,
            )
        except DuetError as e:
            st.error(str(e))
        else:
            st.switch_page("app_pages/conversation.py", query_params={"run": run.id})
    sure = act2.checkbox("Yes, delete this run", key="confirm_delete")
    if act3.button("Delete", key="delete_run", icon=":material/delete:", disabled=not sure):
        try:
            hd.delete_run(svc.store, run.id, viewer)
        except DuetError as e:
            st.error(str(e))
        else:
            st.session_state.pop("confirm_delete", None)
            st.session_state[DELETED_KEY] = run  # the whole run, for Undo
            hd.forget_listing(st.session_state)  # the table must show it gone
            st.query_params.pop("run", None)
            st.rerun()

    beside = evaluation_panel(run, svc, viewer)  # scores, the judge panel, ratings

    transcript, charts = st.tabs([TRANSCRIPT_TAB, CHARTS_TAB], key=VIEW_KEY, on_change="rerun")
    if charts.open:
        with charts:
            render_run_charts(run)
    else:  # the transcript tab: open by default
        with transcript:
            hidden = len(run.turns) - SHOW_LAST
            show_all = hidden > 0 and st.toggle(
                f"Show the {hidden} earlier turns", key="history_show_all_turns"
            )
            render_transcript(run, show_all, beside)
