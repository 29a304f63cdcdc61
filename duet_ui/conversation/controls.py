"""The controls around a run: Pause/Resume, Stop, Continue, a person's message, downloads.

They live in the page around the live panel (never inside its blocking fragment), so a click
is a full rerun that pre-empts the panel at once. Start, Pause/Resume, Stop, Continue and the
message box share the run bar (``run_bar``), pinned at the bottom of the window (``st.bottom``):
the transcript grows and scrolls above it, the controls never leave the screen.
"""

from __future__ import annotations

import streamlit as st

from duet_core.errors import DuetError
from duet_core.exports import transcript as exports
from duet_core.exports.pdf import transcript_pdf
from duet_core.vocabulary import RunStatus, can_continue
from duet_ui.conversation.draw import SHOW_LAST
from duet_ui.conversation.session import LiveView, continue_run
from duet_ui.shell.services import Services, Viewer

RUN_BAR_KEY = "run_bar"
SETUP_KEY = "setup"  # the Setup expander's key prefix (setup_phase)
KEY_HINT_KEY = "key_hint"  # shown only where the sidebar starts closed (a phone)
START_SHORTCUT = "Ctrl+Enter"  # works from the topic box too (a modifier key)
STOP_SHORTCUT = "Ctrl+Shift+Enter"


# Static CSS (no user text). The message box takes the rest of the bar's row; on a narrow
# screen it gets a row of its own under the buttons, which drop their shortcut hints.
RUN_BAR_STYLE = f"""<style>
.st-key-{RUN_BAR_KEY} .st-key-interject {{ flex: 1 1 18rem; min-width: 14rem; }}
/* Start's shortcut hint in white (5.4:1 on the primary colour), not faded white (3:1) */
.st-key-{RUN_BAR_KEY} .st-key-start kbd {{ color: #ffffff !important; opacity: 1 !important; }}
@media (max-width: 640px) {{
  .st-key-{RUN_BAR_KEY} kbd {{ display: none; }}
  .st-key-{RUN_BAR_KEY} .st-key-interject {{ flex-basis: 100%; }}
}}
.st-key-{KEY_HINT_KEY} {{ display: none; }}
@media (max-width: 768px) {{ .st-key-{KEY_HINT_KEY} {{ display: block; }} }}
</style>"""


def run_bar():
    """The run bar's row (use in ``st.bottom``): buttons on the left, the message box taking
    the rest of the width; on a phone the box wraps onto its own row under the buttons."""
    st.html(RUN_BAR_STYLE)
    return st.container(horizontal=True, vertical_alignment="center", gap="small", key=RUN_BAR_KEY)


def setup_phase(view: LiveView | None, running: bool) -> tuple[str, bool]:
    """The Setup expander's key and whether it starts open: open on a fresh page, folded when
    a run starts or the page shows a run (the transcript is then what to see). A new key
    draws a new expander (``expanded`` only counts when one is drawn); under one key it
    stays as the person leaves it (they may open it to steer the run)."""
    shows_run = running or view is not None
    return (f"{SETUP_KEY}_run" if shows_run else f"{SETUP_KEY}_idle"), not shows_run


def key_hint(asked: bool) -> None:
    """The API key fields are in the sidebar, which starts closed on a phone: say where
    (hidden on a wider screen by ``RUN_BAR_STYLE``)."""
    if not asked:
        return
    with st.container(key=KEY_HINT_KEY):
        st.caption(
            ":material/left_panel_open: Paste the API key in the sidebar: open it with » at"
            " the top left."
        )


def controls(view: LiveView | None, viewer: Viewer, services: Services, keys: dict) -> None:
    """Pause or Resume, and Stop, for the live run; Continue for one that was cut short."""
    if view is None:
        return
    if not view.is_live:
        if can_continue(view.status) and st.button(
            "Continue",
            key="continue",
            icon=":material/redo:",
            help="Start this run again from where it ended, with the settings it last used.",
        ):
            try:
                continue_run(view, viewer, services, keys)
            except DuetError as e:
                st.error(e.message)
        return
    if view.status is RunStatus.PAUSED or view.pause_requested:
        st.button("Resume", key="resume", icon=":material/play_arrow:", on_click=view.live.resume)
    else:
        st.button("Pause", key="pause", icon=":material/pause:", on_click=view.live.pause)
    st.button(
        "Stop",
        key="stop",
        icon=":material/stop:",
        on_click=view.live.stop,
        shortcut=STOP_SHORTCUT,
        help="Stop the run now (the turn being written is kept, marked stopped).",
    )


def show_all_toggle(view: LiveView) -> bool:
    """A long transcript shows its last ``SHOW_LAST`` turns unless the person asks for all."""
    hidden = len(view.run.turns) - SHOW_LAST
    if hidden <= 0:
        return False
    return st.toggle(f"Show the {hidden} earlier turns", key="show_all_turns")


def downloads(view: LiveView) -> None:
    """The transcript as JSON or CSV, as it stands (also mid-run)."""
    name = f"duet-{view.run_id}"
    st.download_button(
        "Transcript JSON",
        data=lambda: exports.transcript_json(view.export_run()),
        file_name=f"{name}.json",
        mime="application/json",
        key="run_download_json",
        icon=":material/download:",
        on_click="ignore",
    )
    st.download_button(
        "Transcript CSV",
        data=lambda: exports.turns_csv([view.export_run()]),
        file_name=f"{name}.csv",
        mime="text/csv",
        key="run_download_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    st.download_button(  # made on click: duet_core/exports/pdf.py
        "Transcript PDF",
        data=lambda: transcript_pdf(view.export_run()),
        file_name=f"{name}.pdf",
        mime="application/pdf",
        key="run_download_pdf",
        icon=":material/download:",
        on_click="ignore",
    )
    st.page_link(
        "app_pages/history.py",
        label="Open in History",
        icon=":material/history:",
        query_params={"run": view.run_id},
    )


def interject_box(view: LiveView | None, viewer: Viewer) -> None:
    """A person's message joins the conversation before the next turn.

    The box is on the page before a run starts too (disabled): pressing Start then enables it
    instead of mounting it, so the page does not reflow and the browser has its code loaded
    (mounting a chat input the first time fetches and compiles its scripts, while the first
    reply's tokens wait behind that work)."""
    live = view is not None and view.is_live
    waiting = "Start a run to talk to the bots"
    text = st.chat_input(
        f"Say something to both bots as {viewer.name}…" if live else waiting,
        key="interject",
        disabled=not live,
    )
    if text and live:
        try:
            view.live.interject(text, author=viewer.name)
        except DuetError as e:
            st.error(e.message)
