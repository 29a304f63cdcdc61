"""What the History page shows, built without drawing: the query from the filters, the
table of runs, who may open which run, and the downloads. No Streamlit calls here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from duet_core import exports
from duet_core.errors import AccessDenied, ConfigError
from duet_core.models import Run, RunStatus
from duet_core.store import RunNotFound, RunQuery, RunSummary, Store
from duet_ui.services import Viewer

PAGE_SIZE = 50
TOPIC_WIDTH = 80
CONTINUABLE = (RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.ERROR)


@dataclass(frozen=True)
class Filters:
    """The History page's filter widgets, as read."""

    statuses: tuple[str, ...] = ()
    provider: str | None = None
    model: str | None = None
    dates: tuple[date, ...] = ()  # none, a start, or a start and an end (inclusive)
    search: str | None = None


def zone(name: str | None) -> tzinfo:
    """The browser's time zone by name; UTC when unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def run_query(
    viewer: Viewer, filters: Filters, page: int = 1, tz: tzinfo | None = None
) -> RunQuery:
    """The store query for one page: an admin sees everyone's runs, a user only their own."""
    tz = tz or ZoneInfo("UTC")
    since = until = None
    if filters.dates:
        since = datetime.combine(filters.dates[0], time(), tz)
        last = filters.dates[1] if len(filters.dates) > 1 else filters.dates[0]
        until = datetime.combine(last + timedelta(days=1), time(), tz)
    return RunQuery(
        owner=None if viewer.is_admin else viewer.username,
        statuses=[RunStatus(s) for s in filters.statuses],
        provider=filters.provider or None,
        model=filters.model or None,
        since=since,
        until=until,
        search=filters.search or None,
        limit=PAGE_SIZE,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
    )


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def range_label(page: int, shown: int, total: int) -> str:
    """``"51–100 of 1,234"``; ``"0 of 0"`` when nothing matches."""
    if total == 0 or shown == 0:
        return f"0 of {total:,}"
    first = (page - 1) * PAGE_SIZE + 1
    return f"{first:,}–{first + shown - 1:,} of {total:,}"


def short(text: str, width: int = TOPIC_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _bot(s: RunSummary, i: int) -> str:
    b = s.bots[i]
    return f"{b.name} ({b.provider}/{b.model})"


def _status(s: RunSummary) -> str:
    status = s.status.value
    return f"{status} ({s.stop_reason})" if s.stop_reason and s.stop_reason != status else status


def runs_frame(
    items: Sequence[RunSummary], tz: tzinfo | None = None, with_owner: bool = False
) -> pd.DataFrame:
    """One row per run, in the order given; the run ids are the column ``run``."""
    tz = tz or ZoneInfo("UTC")
    rows = [
        {
            "run": s.id,
            **({"owner": s.owner} if with_owner else {}),
            "when": s.created_at.astimezone(tz).replace(tzinfo=None),
            "topic": short(s.topic),
            "bot 1": _bot(s, 0),
            "bot 2": _bot(s, 1),
            "turns": s.turn_count,
            "status": _status(s),
            "tokens": s.total_tokens,
            "cost (USD)": s.cost_usd,
            "duration (s)": None if s.duration_s is None else round(s.duration_s, 1),
        }
        for s in items
    ]
    columns = ["run", *(["owner"] if with_owner else []), "when", "topic", "bot 1", "bot 2"]
    columns += ["turns", "status", "tokens", "cost (USD)", "duration (s)"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["when"] = pd.to_datetime(frame["when"])
    return frame


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


def run_for_viewer(store: Store, run_id: str, viewer: Viewer) -> Run:
    """The whole run if ``viewer`` may see it. A user gets AccessDenied for another user's
    run and for a run that does not exist alike (so ids of others' runs cannot be probed);
    an admin gets RunNotFound for a missing one."""
    run = store.get_run(run_id)
    if run is not None and (viewer.is_admin or run.owner == viewer.username):
        return run
    if run is None and viewer.is_admin:
        raise RunNotFound(run_id)
    raise AccessDenied("Access denied: this run is not yours or does not exist.")


def delete_run(store: Store, run_id: str, viewer: Viewer) -> None:
    """Delete a finished run the viewer may see; AccessDenied / ConfigError otherwise."""
    run = run_for_viewer(store, run_id, viewer)
    if RunStatus(run.status).live:
        raise ConfigError("This run is still going: stop it before deleting it.")
    store.delete_run(run_id)


# --- downloads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    key: str
    label: str
    file_name: str
    mime: str
    data: str


def run_downloads(run: Run, spreadsheet_safe: bool = False) -> list[Download]:
    """The one run as transcript JSON, turns CSV, training JSONL and Markdown."""
    name = f"duet-{run.id}"
    csv = exports.turns_csv([run], spreadsheet_safe=spreadsheet_safe)
    return [
        Download("download_json", "Transcript JSON", f"{name}.json", "application/json",
                 exports.transcript_json(run)),
        Download("download_csv", "Turns CSV", f"{name}.csv", "text/csv", csv),
        Download("download_jsonl", "Training JSONL", f"{name}.jsonl", "application/jsonl",
                 exports.training_jsonl(run)),
        Download("download_md", "Markdown", f"{name}.md", "text/markdown",
                 exports.transcript_markdown(run)),
    ]  # fmt: skip


def export_query(query: RunQuery) -> RunQuery:
    """The same filters, every page (``runs_for_export`` ignores limit and offset)."""
    return query.model_copy(update={"offset": 0})


def bulk_csv(store: Store, query: RunQuery, spreadsheet_safe: bool = False) -> Callable[[], str]:
    """Builds the CSV of every turn of every matching run, when called (on click)."""
    return lambda: exports.turns_csv(store.runs_for_export(export_query(query)), spreadsheet_safe)


def bulk_json(store: Store, query: RunQuery) -> Callable[[], str]:
    """Builds a JSON list of the transcripts of every matching run, when called."""
    return lambda: exports.runs_json(store.runs_for_export(export_query(query)))


def statuses() -> list[str]:
    return [s.value for s in RunStatus]
