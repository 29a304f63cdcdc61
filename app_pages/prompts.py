"""Prompts: the library of persona templates. Click a template to open it; edit its messages
and save a new version with a note; its history, a diff of two versions, and "Try it" (the
messages sent to a model, as the HTTP API's playground does)."""

import streamlit as st

from duet_core.errors import DuetError
from duet_ui.prompts import draft, table
from duet_ui.prompts.editor import message_editor
from duet_ui.prompts.try_it import try_panel
from duet_ui.shell.services import current_viewer, services

viewer = current_viewer()
library = services().store.prompts
state = st.session_state

st.title(":material/description: Prompts")
st.caption(
    "Persona templates: messages with {{ placeholders }}. A bot uses one from its Persona "
    "setting on the Conversation page; each saved version stays as it was."
)


def _new_template() -> None:
    state[table.PICK_KEY] = table.NEW
    state[table.TABLE_KEY] = table.selection([])


# --- which template: a click on its row, "New template", or the one just saved -------------
summaries = library.list()
names = [s.name for s in summaries]
rows, cell_rows = table.table_selection(state)
pick = table.follow_click(
    rows, cell_rows, state.get(table.ROW_NAMES_KEY, []), state.get(table.PICK_KEY)
)
if "prompts_goto" in state:  # just saved: show that template
    pick = state.pop("prompts_goto")
picked = state[table.PICK_KEY] = table.settle(pick, names)
wanted = table.wanted_rows(picked, names)
if rows != wanted or cell_rows:  # the table shows the open template; the click is taken
    state[table.TABLE_KEY] = table.selection(wanted)
state[table.ROW_NAMES_KEY] = names

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
        key=table.TABLE_KEY,
        on_select="rerun",
        selection_mode=["single-row", "single-cell"],
        column_config={"template": st.column_config.TextColumn(help="Click a row to open it.")},
    )
else:
    st.info("No templates yet: write the first one below.", icon=":material/description:")
st.button(
    "New template",
    key="prompts_new",
    icon=":material/add:",
    on_click=_new_template,
    disabled=picked == table.NEW,
)

is_new = picked == table.NEW
history = [] if is_new else library.history(picked)
latest = history[0] if history else None
st.subheader(picked if not is_new else "New template")

edit, hist, diff, try_it = st.tabs(
    [
        ":material/edit: Edit",
        ":material/history: History",
        ":material/difference: Diff",
        ":material/play_arrow: Try it",
    ],
    key="prompts_tab",  # the open tab is kept across reruns (every tab still draws)
    on_change="rerun",
)

with edit:
    if is_new:
        name = st.text_input(
            "Name",
            key="prompts_new_name",
            placeholder="a short name: letters, digits, . _ -",
            help="The name a bot's Persona setting picks it by.",
        ).strip()
        base = draft.NEW_TEMPLATE
    else:
        name = picked
        base = latest.message_dicts()
        st.caption(f"Editing from v{latest.version}; saving makes v{latest.version + 1}.")
    draft.start(state, (picked, latest.version if latest else 0), base)
    message_editor()
    note = st.text_input("Note", key="prompts_note", placeholder="what changed and why")
    if st.button("Save as new version", key="prompts_save", type="primary", icon=":material/save:"):
        try:
            version, created = library.save(
                name, draft.messages(state), author=viewer.username or "local", note=note
            )
        except DuetError as e:
            st.error(e.message, icon=":material/error:")
        else:
            state["prompts_saved"] = (version.name, version.version, created)
            state["prompts_goto"] = version.name
            st.rerun()
    saved = state.pop("prompts_saved", None)
    if saved:
        what = "saved" if saved[2] else "unchanged (same messages as that version)"
        st.success(f"{saved[0]} v{saved[1]} {what}", icon=":material/check_circle:")

with hist:
    if not history:
        st.caption("Save a first version to start its history.")
    for v in history:
        when = v.created_at.strftime("%Y-%m-%d %H:%M UTC")
        label = f"v{v.version} · {when} · {v.author}" + (f" · {v.note}" if v.note else "")
        with st.expander(label, expanded=v is latest):
            for m in v.message_dicts():
                st.text(f"[{m['role']}]\n{m['content']}")

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
    try:
        current = draft.messages(state)
    except DuetError:
        current = None
    try_panel(picked, history, current, viewer)
