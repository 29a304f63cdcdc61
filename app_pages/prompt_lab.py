"""Prompt Lab: replay a saved turn with other settings (up to four variants side by side), or
write one more turn; or try one set of settings on many conversations at once (``lab/many``).
Nothing is saved unless a variant is saved as a branch."""

import streamlit as st

from duet_core.errors import DuetError
from duet_core.lab.many import MAX_SOURCES
from duet_core.lab.requests import (
    MAX_VARIANTS,
    Experiment,
    LabRequest,
    continue_request,
    regenerate_request,
)
from duet_core.logs import run_logger
from duet_ui.lab import form as lab_form
from duet_ui.lab import many as lab_many
from duet_ui.lab import results as lab_results
from duet_ui.lab import source as lab_source
from duet_ui.lab import view as lab_view
from duet_ui.lab.access import require_lab_access
from duet_ui.shared.bot_form import api_key_fields, pasted_keys
from duet_ui.shell.services import services

viewer = require_lab_access()
svc = services()
keys = pasted_keys()

st.title(":material/science: Prompt Lab")
st.caption(
    "Replay any saved turn with other settings, or let the next bot write one more turn. "
    "Nothing is saved while you experiment; **Save as branch** keeps a variant as a new run."
)
SCOPES = {"one": "One conversation", "many": f"Many conversations (up to {MAX_SOURCES})"}
scope = st.radio(
    "Try it on", list(SCOPES), format_func=SCOPES.__getitem__, horizontal=True, key="lab_scope"
)
if scope == "many":
    lab_many.page(viewer, svc, keys)
    st.stop()
source = lab_source.pick_source(viewer, svc)
if source is None:
    st.stop()
target = lab_view.pick_target(source.run)
if target is None:
    st.stop()
asked = target.asked(source)
if st.session_state.get("_lab_asked") != asked:  # another turn or source: fresh forms
    for v in range(MAX_VARIANTS):
        lab_form.reset(v, target.base)

count = int(st.number_input("Variants", 1, MAX_VARIANTS, value=2, key="lab_variants"))
library = svc.store.prompts
forms = []
for v, column in enumerate(st.columns(count)):
    with column, st.expander(f"Variant {v + 1} settings", expanded=True):
        forms.append(lab_form.variant_form(v, target.base, svc.settings, keys, library.names()))
# marked done only once the forms are drawn: a run cut short by a quick second click resets
# them again, instead of keeping the values the browser still showed from before
st.session_state["_lab_asked"] = asked
with st.sidebar:
    api_key_fields({f.bot.provider for f in forms if f.bot is not None}, svc.settings)

shown = lab_results.current(asked)
running = shown is not None and not shown.experiment.done
with st.container(horizontal=True):
    go = st.button(
        "Regenerate" if target.action == "regenerate" else "Continue",
        key="lab_go",
        type="primary",
        icon=":material/play_arrow:",
        disabled=running or any(f.error for f in forms),
    )
    if st.button("Stop", key="lab_stop", icon=":material/stop:", disabled=not running):
        lab_results.stop_current()

if go:
    try:
        requests: list[LabRequest] = [
            regenerate_request(source.run, target.index, f.edits, library)
            if target.action == "regenerate"
            else continue_request(source.run, f.edits, library)
            for f in forms
        ]
        experiment = Experiment(
            requests,
            svc.providers.with_keys(keys),
            svc.prices,
            run_logger(source.run.id, viewer.username),  # logs name the source run and person
        )
    except DuetError as e:
        st.error(e.message, icon=":material/error:")
    else:
        labels = [lab_view.variant_label(v, r.bot) for v, r in enumerate(requests)]
        lab_results.start(
            lab_results.Shown(experiment, source, asked, labels, original=target.original)
        )
        st.rerun()  # draw the page as it is while the variants stream (Stop enabled)

if shown is not None:
    lab_results.show(shown, viewer, svc, keys)
