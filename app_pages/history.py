"""History: the viewer's saved runs (everyone's for an admin), filtered and paged; one run
in detail (duet_ui/history/run.py); 2–4 runs picked go to Compare; every filtered run
exported (duet_ui/history/export.py). Opened by a link to one run (``?run=``: the conversation
page, Compare, a bookmark), it shows that run alone, with a way back to the list."""

import streamlit as st

from duet_core import catalog
from duet_core.errors import DuetError
from duet_ui.history import data as hd
from duet_ui.history import pick as hp
from duet_ui.history.export import export_panel
from duet_ui.history.run import show_run, spreadsheet_toggle
from duet_ui.lab.branches import nest_branches, show_family
from duet_ui.shell.services import current_viewer, services

viewer = current_viewer()
svc = services()
store = svc.store
tz = hd.zone(st.context.timezone)

st.title("📜 History")


def show(run_id: str, safe_csv: bool) -> None:
    try:
        show_run(
            hd.run_for_viewer(store, run_id, viewer),
            svc,
            viewer,
            spreadsheet_safe=safe_csv,
            family=lambda run: show_family(store, run, viewer),
        )
    except DuetError as e:
        st.error(str(e))


# --- a link to one run: that run alone (the runs table is the page's heaviest part) -------
if not hp.table_was_shown(st.session_state):
    st.session_state.pop(hp.PICK_KEY, None)  # picked in a table that is gone
    if linked := st.query_params.get("run"):
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

# --- filters -----------------------------------------------------------------------------
c1, c2, c3, c4, c5 = st.columns([2, 1.3, 1.3, 1.6, 2])
filters = hd.Filters(
    statuses=tuple(c1.multiselect("Status", hd.statuses(), key="history_status")),
    provider=c2.selectbox(
        "Provider",
        catalog.PROVIDERS,
        index=None,
        placeholder="any",
        format_func=lambda p: catalog.PROVIDER_LABELS.get(p, p),
        key="history_provider",
    ),
    model=c3.text_input("Model", placeholder="any", key="history_model").strip(),
    dates=tuple(c4.date_input("Dates", value=(), key="history_dates")),
    search=c5.text_input(
        "Search topics and turns",
        key="history_search",
        help="Every word, as the start of a word; case and accents do not matter.",
    ).strip(),
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

frame = hd.runs_frame(listing.items, tz, with_owner=viewer.is_admin)
frame = nest_branches(store, frame, None if viewer.is_admin else viewer.username)  # ↳ branches
table = st.dataframe(
    frame,
    key=hp.TABLE_KEY,
    on_select="rerun",
    selection_mode="multi-row",
    hide_index=True,
    column_config={
        "run": st.column_config.TextColumn("run", width="small"),
        "when": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm"),
        "topic": st.column_config.TextColumn("topic", width="large"),
        "cost (USD)": st.column_config.NumberColumn("cost (USD)", format="$%.4f"),
        "tokens": st.column_config.NumberColumn("tokens", format="localized"),
    },
)

nav1, nav2, nav3, nav4 = st.columns([1, 1.6, 1.6, 1.2], vertical_alignment="bottom")
nav1.number_input("Page", 1, hd.page_count(listing.total), step=1, key="history_page")
nav2.caption(hd.range_label(page, len(listing.items), listing.total))
with nav4:
    safe_csv = spreadsheet_toggle()

# --- which run is open: one selected row, else ?run=<id>; 2-4 rows: compare them -------
rows = table.selection.rows if table is not None else []
picked = hp.picked_runs(rows, list(frame["run"]))
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
    nav3.caption("Tick 2–4 rows to compare them.")
pick = hp.table_pick(rows[:1] if len(rows) == 1 else [], list(frame["run"]),
                     st.session_state.get(hp.PICK_KEY))  # fmt: skip
st.session_state[hp.PICK_KEY] = pick.remember
if pick.run_id is not None:
    st.query_params["run"] = pick.run_id
elif pick.cleared:
    st.query_params.pop("run", None)
run_id = pick.run_id or (st.query_params.get("run") if len(rows) <= 1 else None)

export_panel(store, query, viewer.username, listing.total, safe_csv)

if run_id:
    st.divider()
    show(run_id, safe_csv)
