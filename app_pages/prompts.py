"""Prompts: the library of persona templates. List, edit as a table, save a new version with a
note, history, diff two versions, and try a version with variables."""

import zlib

import streamlit as st

from duet_core.errors import DuetError
from duet_core.templates import (
    BUILTIN_VARIABLES,
    missing_variables,
    render_messages,
    template_variables,
)
from duet_ui.prompts.rows import NEW_TEMPLATE, from_frame, to_frame
from duet_ui.shell.services import current_viewer, services

NEW = "➕ New template"

viewer = current_viewer()
library = services().store.prompts
state = st.session_state

st.title("📝 Prompts")
st.caption(
    "Persona templates: messages with {{ placeholders }}. A bot uses one from its Persona "
    "setting on the Conversation page; each saved version stays as it was."
)

summaries = library.list()
if summaries:
    st.dataframe(
        [
            {
                "template": s.name,
                "latest": f"v{s.latest_version}",
                "saved": s.updated_at.strftime("%Y-%m-%d %H:%M"),
                "by": s.author,
                "note": s.note,
            }
            for s in summaries
        ],
        hide_index=True,
        key="prompts_table",
    )
names = [s.name for s in summaries]
if "prompts_goto" in state:  # just saved: show that template
    state["prompts_pick"] = state.pop("prompts_goto")
if state.get("prompts_pick") not in [NEW, *names]:
    state["prompts_pick"] = names[0] if names else NEW
picked = st.selectbox("Template", [NEW, *names], key="prompts_pick")
is_new = picked == NEW
history = [] if is_new else library.history(picked)
latest = history[0] if history else None

edit, hist, diff, try_it = st.tabs(["Edit", "History", "Diff", "Try it"])

with edit:
    if is_new:
        name = st.text_input("Name", key="prompts_new_name", placeholder="debater").strip()
        base = NEW_TEMPLATE
    else:
        name = picked
        base = latest.message_dicts()
        st.caption(f"Editing from v{latest.version}; saving makes v{latest.version + 1}.")
    table = st.data_editor(
        to_frame(base),
        num_rows="dynamic",
        hide_index=True,
        # a fresh editor per template and version (the key is CSS-safe: .st-key-prompts_editor_*)
        key=f"prompts_editor_{zlib.crc32(picked.encode()):08x}_{latest.version if latest else 0}",
        column_config={
            "role": st.column_config.SelectboxColumn(
                "Role", options=["system", "human", "ai"], required=True, width="small"
            ),
            "content": st.column_config.TextColumn("Content", width="large"),
        },
    )
    note = st.text_input("Note", key="prompts_note", placeholder="what changed and why")
    if st.button("Save as new version", key="prompts_save", type="primary"):
        try:
            version, created = library.save(
                name, from_frame(table), author=viewer.username or "local", note=note
            )
        except DuetError as e:
            st.error(e.message)
        else:
            state["prompts_saved"] = (version.name, version.version, created)
            state["prompts_goto"] = version.name
            st.rerun()
    saved = state.pop("prompts_saved", None)
    if saved:
        what = "saved" if saved[2] else "unchanged (same messages as that version)"
        st.success(f"{saved[0]} v{saved[1]} {what}", icon="✅")

with hist:
    if not history:
        st.caption("Save a first version to start its history.")
    for v in history:
        when = v.created_at.strftime("%Y-%m-%d %H:%M UTC")
        label = f"v{v.version} · {when} · {v.author}" + (f" · {v.note}" if v.note else "")
        with st.expander(label, expanded=v is latest):
            st.dataframe(to_frame(v.message_dicts()), hide_index=True)

with diff:
    if len(history) < 2:
        st.caption("A diff needs two versions.")
    else:
        versions = [v.version for v in history]
        a, b = st.columns(2)
        old = a.selectbox(
            "From", versions, index=1, key="prompts_diff_from", format_func="v{}".format
        )
        new = b.selectbox("To", versions, index=0, key="prompts_diff_to", format_func="v{}".format)
        lines = library.diff(picked, old, new)
        st.code("\n".join(lines) if lines else "(no difference)", language="diff")

with try_it:
    if latest is None:
        st.caption("Save the template, then try it here.")
    else:
        versions = [v.version for v in history]
        v = st.selectbox("Version", versions, key="prompts_try_version", format_func="v{}".format)
        found = library.get(picked, v)
        values = {}
        for var in template_variables(found.messages):
            hint = "filled by the run" if var in BUILTIN_VARIABLES else None
            text = st.text_input(var, key=f"prompts_try_{var}", help=hint)
            if text:
                values[var] = text
        missing = missing_variables(found.messages, values)
        if missing:
            st.warning(f"No value for {', '.join(missing)}: rendered as empty.", icon="⚠️")
        for m in render_messages(found.messages, values):
            st.text(f"[{m['role']}]\n{m['content']}")
