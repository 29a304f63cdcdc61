"""History: the viewer's saved runs (everyone's for an admin), filtered and paged; a click
on a run's row opens it right under the list (duet_ui/history/run.py); 2–4 rows ticked go
to Compare (ticking never closes the run being read); every filtered run exported
(duet_ui/history/export.py). Opened by a link to one run (``?run=``: the conversation
page, Compare, a bookmark), it shows that run alone, with a way back to the list."""

import streamlit as st

from duet_core import catalog
from duet_core.errors import DuetError
from duet_ui.evals.columns import score_column_config, with_score_columns
from duet_ui.history import data as hd
from duet_ui.history import pick as hp
from duet_ui.history.export import export_panel
from duet_ui.history.run import deleted_notice, show_run, spreadsheet_toggle
from duet_ui.history.scroll import scroll_here
from duet_ui.lab.branches import nest_branches, show_family
from duet_ui.shell.login import accounts_for
from duet_ui.shell.services import current_viewer, services

viewer = current_viewer()
svc = services()
store = svc.store
tz = hd.zone(st.context.timezone)

st.title(
    ":material/history: History", anchor=False
)  # the shell's tests read this title (see app_pages/conversation.py)


def show(run_id: str, safe_csv: bool, on_close=None) -> None:
    try:
        show_run(
            hd.run_for_viewer(store, run_id, viewer),
            svc,
            viewer,
            spreadsheet_safe=safe_csv,
            family=lambda run: show_family(store, run, viewer),
            on_close=on_close,
        )
    except DuetError as e:
        st.error(str(e))


# --- a link to one run: that run alone (the runs table is the page's heaviest part) -------
if not hp.list_was_shown(st.session_state) and (linked := st.query_params.get("run")):
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "All runs",
            key="all_runs",
            icon=":material/arrow_back:",
            on_click=lambda: st.query_params.pop("run", None),
        )
        safe_csv = spreadsheet_toggle()
    show(linked, safe_csv)
    st.stop()

# --- filters: search and status in view, the rest behind "More filters" (one row) --------
c1, c2, c3 = st.columns([3, 2, 1.3], vertical_alignment="bottom")
search = c1.text_input(
    "Search topics and turns",
    key=hp.LIST_KEY,
    placeholder="words in a topic or a turn",
    help="Every word, as the start of a word; case and accents do not matter.",
)
statuses = c2.multiselect("Status", hd.statuses(), key="history_status", placeholder="any")
more = sum(bool(st.session_state.get(k)) for k in hd.MORE_FILTERS)
with c3.popover(
    f"More filters · {more}" if more else "More filters",
    icon=":material/filter_list:",
    key="history_more_filters",
    width="stretch",
):
    provider = st.selectbox(
        "Provider",
        catalog.PROVIDERS,
        index=None,
        placeholder="any",
        format_func=lambda p: catalog.PROVIDER_LABELS.get(p, p),
        key="history_provider",
    )
    model = st.text_input("Model", placeholder="any", key="history_model").strip()
    dates = tuple(st.date_input("Dates", value=(), key="history_dates"))
experiment = st.query_params.get("experiment")  # a link from the Experiments page
if experiment:
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(f"Runs of experiment `{experiment}`")
        st.button(
            "All runs",
            key="all_experiments",
            icon=":material/filter_alt_off:",
            on_click=lambda: st.query_params.pop("experiment", None),
        )
filters = hd.Filters(
    statuses=tuple(statuses),
    provider=provider,
    model=model,
    dates=dates,
    search=search.strip(),
    experiment=experiment or None,
)
if st.session_state.get("_history_filters") != filters:  # new filters: back to page 1
    st.session_state["_history_filters"] = filters
    st.session_state["history_page"] = 1

# --- one page of runs (kept for the session until the query changes) ---------------------
page = int(st.session_state.get("history_page") or 1)
query = hd.run_query(viewer, filters, page, tz)
listing = hd.cached_listing(st.session_state, store, query)
if not listing.items and page > 1:  # the page emptied (runs deleted): show the last one
    page = hd.page_count(listing.total)
    st.session_state["history_page"] = page
    query = hd.run_query(viewer, filters, page, tz)
    listing = hd.cached_listing(st.session_state, store, query)

show_names = viewer.is_admin and not svc.settings.dev_mode  # dev mode has no accounts file
owner_names = accounts_for(svc.settings).identity_names() if show_names else None
frame = hd.runs_frame(listing.items, tz, with_owner=viewer.is_admin, owner_names=owner_names)
frame = with_score_columns(store, frame)  # the judges' and people's mean scores
frame = nest_branches(store, frame, None if viewer.is_admin else viewer.username)  # ↳ branches
ids = list(frame["run"])

# --- the selection: a click on a cell opens that run; ticked rows are for Compare ----------
ticked, cells = hp.table_selection(st.session_state)
update = hp.follow_selection(ticked, cells, st.session_state.get(hp.ROW_IDS_KEY, []), ids)
if update.reset:  # before the table is drawn: the click is taken, the ticks follow their runs
    selection = {"rows": update.rows, "columns": [], "cells": []}
    st.session_state[hp.TABLE_KEY] = {"selection": selection}
st.session_state[hp.ROW_IDS_KEY] = ids
if update.opened is not None:
    st.query_params["run"] = update.opened
    st.session_state[hp.OPENED_KEY] = st.session_state.get(hp.OPENED_KEY, 0) + 1

if not ids:
    if filters.narrowing:
        st.info("No runs match these filters.", icon=":material/search_off:")
    else:
        st.info("No runs yet: start one on the Conversation page.", icon=":material/forum:")
    picked = []
else:
    table = st.dataframe(
        frame,
        key=hp.TABLE_KEY,
        on_select="rerun",
        selection_mode=["multi-row", "single-cell"],
        hide_index=True,
        column_order=hd.column_order(list(frame.columns)),
        placeholder="—",
        column_config={
            "topic": st.column_config.TextColumn(
                "topic", width=360, help="Click a run's row to open it below."
            ),
            "status": st.column_config.TextColumn("status", width=125),
            "turns": st.column_config.NumberColumn("turns", width=60),
            "tokens": st.column_config.NumberColumn("tokens", format="localized", width=80),
            "cost (USD)": st.column_config.NumberColumn(
                "cost (USD)",
                format="$%.4f",
                width=90,
                help="— : unknown (a model with no price, or a turn cut short).",
            ),
            "when": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm"),
            **score_column_config(),
            "run": st.column_config.TextColumn("run id", width="small"),
        },
    )
    picked = hp.picked_runs(table.selection.rows, ids)

    nav1, nav2, nav3, nav4 = st.columns([1, 1.6, 1.6, 1.2], vertical_alignment="bottom")
    nav1.number_input("Page", 1, hd.page_count(listing.total), step=1, key="history_page")
    nav2.caption(hd.range_label(page, len(listing.items), listing.total))
    with nav4:
        safe_csv = spreadsheet_toggle()
    if len(picked) > 1:
        nav3.page_link(
            "app_pages/compare.py",
            label=f"Compare these {len(picked)} runs" if len(picked) <= hp.COMPARE_MAX
            else f"Compare: pick at most {hp.COMPARE_MAX}",
            icon=":material/compare:",
            query_params={"runs": ",".join(picked[: hp.COMPARE_MAX])},
            disabled=len(picked) > hp.COMPARE_MAX,
        )  # fmt: skip
    else:
        nav3.caption("Click a run to open it; tick 2–4 rows to compare them.")

deleted_notice(svc)  # where the run deleted was, with Undo

# --- the run opened: right under the list, brought into view when a click opens it -------
if run_id := st.query_params.get("run"):
    if not ids:
        safe_csv = spreadsheet_toggle()
    with st.container(border=True, key="history_opened_run"):
        scroll_here(f"{run_id}:{st.session_state.get(hp.OPENED_KEY, 0)}", key="history_scroll")
        show(run_id, safe_csv, on_close=lambda: st.query_params.pop("run", None))

if ids:
    export_panel(store, query, viewer.username, listing.total, safe_csv)
