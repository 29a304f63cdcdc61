"""History: the viewer's saved runs (everyone's for an admin), filtered and paged; one run
in detail with charts, transcript, downloads, continue and delete."""

import streamlit as st

from duet_core import catalog
from duet_core.errors import DuetError
from duet_core.models import Run, RunStatus
from duet_ui import history_data as hd
from duet_ui.bot_form import pasted_keys
from duet_ui.charts import render_run_charts
from duet_ui.lab_branches import show_family
from duet_ui.services import current_viewer, services
from duet_ui.transcript import escape_markdown, render_turns

viewer = current_viewer()
svc = services()
store = svc.store
tz = hd.zone(st.context.timezone)

st.title("📜 History")

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
    search=c5.text_input("Search topics and turns", key="history_search").strip(),
)
if st.session_state.get("_history_filters") != filters:  # new filters: back to page 1
    st.session_state["_history_filters"] = filters
    st.session_state["history_page"] = 1

# --- one page of runs --------------------------------------------------------------------
page = int(st.session_state.get("history_page") or 1)
query = hd.run_query(viewer, filters, page, tz)
listing = store.list_runs(query)
if not listing.items and page > 1:  # the page emptied (runs deleted): show the last one
    page = hd.page_count(listing.total)
    st.session_state["history_page"] = page
    query = hd.run_query(viewer, filters, page, tz)
    listing = store.list_runs(query)

frame = hd.runs_frame(listing.items, tz, with_owner=viewer.is_admin)
table = st.dataframe(
    frame,
    key="history_table",
    on_select="rerun",
    selection_mode="single-row",
    hide_index=True,
    column_config={
        "run": st.column_config.TextColumn("run", width="small"),
        "when": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm"),
        "topic": st.column_config.TextColumn("topic", width="large"),
        "cost (USD)": st.column_config.NumberColumn("cost (USD)", format="$%.4f"),
        "tokens": st.column_config.NumberColumn("tokens", format="localized"),
    },
)

nav1, nav2, nav3, nav4, nav5 = st.columns([1, 1.6, 1.2, 1.2, 1.2], vertical_alignment="bottom")
nav1.number_input("Page", 1, hd.page_count(listing.total), step=1, key="history_page")
nav2.caption(hd.range_label(page, len(listing.items), listing.total))
safe_csv = nav5.toggle(
    "Spreadsheet-safe CSV",
    key="csv_spreadsheet_safe",
    help="Put an apostrophe before cells a spreadsheet would run as a formula (= + - @).",
)
nav3.download_button(
    "All filtered: CSV",
    data=hd.bulk_csv(store, query, safe_csv),
    file_name="duet-runs.csv",
    mime="text/csv",
    on_click="ignore",
    disabled=listing.total == 0,
    key="download_all_csv",
)
nav4.download_button(
    "All filtered: JSON",
    data=hd.bulk_json(store, query),
    file_name="duet-runs.json",
    mime="application/json",
    on_click="ignore",
    disabled=listing.total == 0,
    key="download_all_json",
)

# --- which run is open: the selected row, else ?run=<id> ---------------------------------
rows = table.selection.rows if table is not None else []
pick = hd.table_pick(rows, list(frame["run"]), st.session_state.get("_history_pick"))
st.session_state["_history_pick"] = pick.remember
if pick.run_id is not None:
    st.query_params["run"] = pick.run_id
elif pick.cleared:
    st.query_params.pop("run", None)
run_id = pick.run_id or st.query_params.get("run")


def show_run(run: Run) -> None:
    status = RunStatus(run.status)
    st.subheader(escape_markdown(hd.short(run.config.topic, 120)))
    bots = " · ".join(
        f"**{escape_markdown(b.name)}** ({b.provider}/{escape_markdown(b.model)})"
        for b in run.config.bots
    )
    stop = f" ({run.stop_reason})" if run.stop_reason else ""
    st.markdown(f"{bots}  \nStatus: **{status.value}**{stop} · run `{run.id}` · {run.owner}")
    if run.error:
        st.error(run.error)
    show_family(store, run, viewer)  # the run it branched from, its branches (Prompt Lab)

    downloads = hd.run_downloads(run, spreadsheet_safe=safe_csv)
    for column, d in zip(st.columns(len(downloads)), downloads, strict=True):
        column.download_button(
            d.label,
            data=d.data,
            file_name=d.file_name,
            mime=d.mime,
            on_click="ignore",
            key=d.key,
        )

    act1, act2, act3 = st.columns([1, 2, 1], vertical_alignment="bottom")
    if status in hd.CONTINUABLE and act1.button("▶ Continue", key="continue_run"):
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
    sure = act2.checkbox("Yes, delete this run for good", key="confirm_delete")
    if act3.button("🗑 Delete", key="delete_run", disabled=not sure):
        try:
            hd.delete_run(store, run.id, viewer)
        except DuetError as e:
            st.error(str(e))
        else:
            st.session_state.pop("confirm_delete", None)
            st.query_params.pop("run", None)
            st.toast(f"Deleted run {run.id}.")
            st.rerun()

    render_run_charts(run)
    render_turns(run.turns, run.config)


if run_id:
    st.divider()
    try:
        show_run(hd.run_for_viewer(store, run_id, viewer))
    except DuetError as e:
        st.error(str(e))
