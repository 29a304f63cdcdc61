"""Which template the Prompts page shows: a click on a row of the templates table opens it
(``st.dataframe`` selection, as History opens a run: a cell clicked or a row ticked);
"New template" opens an empty one. The page owns the choice (``prompts_pick``); the table's
selection only follows it (its row ticked, no cell kept, so a cell opens again). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TABLE_KEY = "prompts_table"  # the templates table's widget key (its selection)
PICK_KEY = "prompts_pick"  # the template shown: a name, or NEW
ROW_NAMES_KEY = "_prompts_row_names"  # the names of the table's rows, as last drawn
NEW = ""  # the pick for a new template (no saved name is empty)


def table_selection(state: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    """The table's ticked rows and the rows of its selected cells, as the browser left them."""
    value: Any = state.get(TABLE_KEY)
    selection = (value.get("selection") if value is not None else None) or {}
    rows = [int(r) for r in selection.get("rows") or ()]
    cell_rows = [int(c[0]) for c in selection.get("cells") or ()]
    return rows, cell_rows


def follow_click(
    rows: Sequence[int], cell_rows: Sequence[int], drawn: Sequence[str], pick: str | None
) -> str | None:
    """The template to show: the one whose cell was clicked, or whose row was ticked; else
    ``pick``. A click on a cell selects only that cell in Streamlit's table (it does not
    tick the row), so both count."""
    for row in (*cell_rows[:1], *rows[:1]):
        if 0 <= row < len(drawn):
            return drawn[row]
    return pick


def settle(pick: str | None, names: Sequence[str]) -> str:
    """``pick`` when it is still there; else the first template, or NEW when there is none."""
    if pick == NEW or pick in names:
        return pick  # type: ignore[return-value]
    return names[0] if names else NEW


def wanted_rows(pick: str, names: Sequence[str]) -> list[int]:
    """The table's selection that shows ``pick``."""
    return [list(names).index(pick)] if pick in names else []


def selection(rows: list[int]) -> dict[str, Any]:
    return {"selection": {"rows": rows, "columns": [], "cells": []}}
