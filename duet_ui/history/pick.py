"""What the History table's selection means: a click on a cell opens that row's run; ticked
rows (2–4) go to Compare and never close the run being read. Also whether the page was
opened at one run by a link. No Streamlit calls here: the page reads and writes the state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TABLE_KEY = "history_table"  # the runs table's widget key (its selection)
ROW_IDS_KEY = "_history_row_ids"  # the run ids of the table's rows, as last drawn
OPENED_KEY = "_history_opened"  # how many runs a click has opened (a new one: scroll to it)
LIST_KEY = "history_search"  # a filter of the list: in the state iff the list was drawn


def list_was_shown(state: Mapping) -> bool:
    """Whether the list of runs (its filters) was on the page in the last script run. Not
    after a new session, a reload or a link from another page: Streamlit drops a widget's
    state once a run does not draw it. A ``?run=`` then came with the link: the page shows
    that run alone."""
    return LIST_KEY in state


COMPARE_MAX = 4


def compare_ids(text: str) -> list[str]:
    """The run ids of a ``?runs=a,b,c`` parameter: distinct, in order, at most
    ``COMPARE_MAX``."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    return list(dict.fromkeys(ids))[:COMPARE_MAX]


def picked_runs(rows: Sequence[int], run_ids: Sequence[str]) -> list[str]:
    """The run ids of the selected table rows, in table order."""
    return [run_ids[r] for r in sorted(rows) if 0 <= r < len(run_ids)]


def table_selection(state: Mapping) -> tuple[list[int], list[tuple[int, str]]]:
    """The table's ticked rows and selected cells, as the browser (or a test) left them."""
    value: Any = state.get(TABLE_KEY)
    selection = value.get("selection") if value is not None else None
    if not selection:
        return [], []
    rows = [int(r) for r in selection.get("rows") or ()]
    cells = [(int(c[0]), str(c[1])) for c in selection.get("cells") or ()]
    return rows, cells


@dataclass(frozen=True)
class TableUpdate:
    """What to do with the selection before the table is drawn again.

    ``opened``: the run a click on one of its cells opens (None: no click). ``rows``: the
    ticked rows over the rows about to be drawn (a ticked run keeps its tick when the rows
    move: a new run on top, a delete; one no longer listed loses it). ``reset``: the
    widget's selection must be set to ``rows`` and no cell (the click is taken, so the same
    cell opens its run again after the run is closed)."""

    opened: str | None
    rows: list[int]
    reset: bool


def follow_selection(
    rows: Sequence[int],
    cells: Sequence[tuple[int, str]],
    drawn_ids: Sequence[str],
    ids: Sequence[str],
) -> TableUpdate:
    """``rows`` and ``cells`` refer to the table as drawn (``drawn_ids``, one per row); the
    table is about to be drawn with ``ids``."""
    opened = None
    if cells and 0 <= cells[0][0] < len(drawn_ids):
        opened = drawn_ids[cells[0][0]]
    position = {run_id: i for i, run_id in enumerate(ids)}
    now = sorted(position[r] for r in picked_runs(rows, drawn_ids) if r in position)
    return TableUpdate(opened, now, reset=bool(cells) or now != sorted(rows))
