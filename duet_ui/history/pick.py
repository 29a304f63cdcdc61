"""Which runs History shows: the rows ticked in its table (one opens a run, 2–4 go to
Compare), and whether the page was opened at one run by a link."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TABLE_KEY = "history_table"  # the runs table's widget key (its selection)
PICK_KEY = "_history_pick"  # the (row, run id) picked in the table, kept between reruns


def table_was_shown(state: Mapping) -> bool:
    """Whether the runs table was on the page in the last script run. Not after a new
    session, a reload or a link from another page: Streamlit drops a widget's state once a
    run does not draw it. A ``?run=`` then came with the link: the page shows that run alone
    (and the row picked on an earlier visit is forgotten, its table being gone)."""
    return TABLE_KEY in state


COMPARE_MAX = 4


def compare_ids(text: str) -> list[str]:
    """The run ids of a ``?runs=a,b,c`` parameter: distinct, in order, at most
    ``COMPARE_MAX``."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    return list(dict.fromkeys(ids))[:COMPARE_MAX]


def picked_runs(rows: Sequence[int], run_ids: Sequence[str]) -> list[str]:
    """The run ids of the selected table rows, in table order."""
    return [run_ids[r] for r in sorted(rows) if 0 <= r < len(run_ids)]


@dataclass(frozen=True)
class Pick:
    """What a table selection means. ``run_id``: the run picked (None: none);
    ``remember``: the (row, run id) to keep for the next rerun; ``cleared``: the person
    unselected the row, so a ``?run=`` taken from an earlier pick goes too."""

    run_id: str | None
    remember: tuple[int, str] | None
    cleared: bool = False


def table_pick(
    rows: Sequence[int], run_ids: Sequence[str], previous: tuple[int, str] | None
) -> Pick:
    """Interpret the table's selected rows. The table keeps its selected row number when its
    rows change (filters, paging, a delete): the same row number over another run is not a
    pick."""
    row = rows[0] if rows and 0 <= rows[0] < len(run_ids) else None
    if row is None:
        return Pick(None, None, cleared=previous is not None)
    run_id = run_ids[row]
    if previous is not None and previous[0] == row and previous[1] != run_id:
        return Pick(None, previous)
    return Pick(run_id, (row, run_id))
