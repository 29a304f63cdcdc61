"""The conversation page: set up two bots, start them talking, watch and steer the run."""

import streamlit as st

from duet_core.errors import DuetError
from duet_core.models import RunConfig
from duet_ui.conversation import controls as live_controls
from duet_ui.conversation import draw as live_draw
from duet_ui.conversation import session as live_session
from duet_ui.conversation import setup_file
from duet_ui.conversation import sync as live_sync
from duet_ui.conversation.feed_view import page_feed
from duet_ui.conversation.panel import live_panel
from duet_ui.lab.branches import show_family
from duet_ui.shared import bot_form
from duet_ui.shared.topic import topic_heading
from duet_ui.shell.services import current_viewer, services

svc, viewer = services(), current_viewer()
settings = svc.settings

try:
    view = live_session.current_view(viewer, svc)
except DuetError as e:
    view = None
    st.error(e.message)
page_run, asked = view.begin_page_run() if view is not None else (0, False)
live_sync.sync_widgets(view, settings, asked)  # before any widget draws

keys = bot_form.pasted_keys()
live_now = view is not None and view.is_live
starting = live_session.start_pressed() and not live_now  # Start is disabled while live
running = live_now or starting  # a run started by this click is drawn by this script run
live_draw.style()
st.title(":material/forum: Duet", anchor=False)

# The setup on the page, folded while a run streams: the topic and turns, then the two bots
# side by side (stacked on a phone), their less used settings behind each bot's "More".
setup_key, setup_open = live_controls.setup_phase(view, running)
with st.expander("Setup", expanded=setup_open, icon=":material/tune:", key=setup_key):
    # not disabled while starting: a disabled widget drops the value sent with the click
    setup = setup_file.setup_fields(settings, bot_form.shown_names(), disabled=live_now)
    forms = []
    for i, (column, defaults) in enumerate(
        zip(st.columns(2, gap="medium"), bot_form.DEFAULT_BOTS, strict=True)
    ):
        with column, st.container(border=True, key=f"bot{i}_section"):
            forms.append(form := bot_form.bot_form(i, defaults, settings, keys))
            problem = live_sync.push_bot_change(view, i, form, page_run)  # from its next turn
            if problem:
                st.error(problem)
            note = live_sync.pending_note(view, i)
            live_sync.note_shown(view, i, note is not None)
            if note:
                st.info(note, icon=":material/schedule:")
with st.sidebar:  # the provider hints say "paste a key in the sidebar"
    asked = bot_form.api_key_fields({f.values["provider"] for f in forms}, settings)
live_controls.key_hint(asked)  # on a phone, where the sidebar starts closed
config = setup_file.run_config(setup, forms)
setup_file.show_message()

with st.container(horizontal=True, vertical_alignment="center"):
    setup_file.save_and_load(config, settings)

# The run bar: pinned at the bottom of the window beside the message box, so Start, Pause,
# Resume, Stop and Continue stay in reach while the transcript grows above it.
with st.bottom:
    live_session.show_start_error()
    with live_controls.run_bar():
        st.button(
            "Start",
            key=live_session.START_KEY,
            type="primary",
            icon=":material/play_arrow:",
            disabled=running,
            shortcut=live_controls.START_SHORTCUT,
            help="Stop this run before starting another." if live_now else None,
        )
        if starting:  # the rest of this run draws the new run (its controls, its panel)
            try:
                if not isinstance(config, RunConfig):
                    raise DuetError(config)
                view = live_session.start(config, viewer, svc, keys, forms)
            except DuetError as e:
                live_session.start_failed(e.message)  # draws the page again, not running
        live_controls.controls(view, viewer, svc, keys)
        live_controls.interject_box(view, viewer)

if view is not None:
    topic_heading(view.run.config.topic, "live", divider=True)  # one line; the whole on demand
    show_all = live_controls.show_all_toggle(view)
    panel = st.container()  # header, transcript, the turn being written: filled last
    live_draw.draw_outcome(view.state, other_process=view.live is None)
    with st.container(horizontal=True):
        live_controls.downloads(view)
    show_family(svc.store, view.run, viewer, page="app_pages/conversation.py")  # branches
page_feed(view.live if view is not None and view.is_live else None)  # conversation.feed_view
if view is not None:
    with panel:
        live_panel(view, show_all, drawn_live=running)
