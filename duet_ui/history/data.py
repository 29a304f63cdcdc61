"""What the History page shows, built without drawing: the query from the filters, the
table of runs, who may open which run, and the downloads. No Streamlit calls here."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from duet_core.errors import AccessDenied, ConfigError
from duet_core.exports import bulk as exports_bulk
from duet_core.exports import transcript as exports
from duet_core.exports.pdf import transcript_pdf
from duet_core.models import Run, RunStatus
from duet_core.store import RunNotFound, RunPage, RunQuery, RunSummary, Store
from duet_ui.shell.services import Viewer

PAGE_SIZE = 50
TOPIC_WIDTH = 80


MORE_FILTERS = ("history_provider", "history_model", "history_dates")  # behind a popover


@dataclass(frozen=True)
class Filters:
    """The History page's filter widgets, as read."""

    statuses: tuple[str, ...] = ()
    provider: str | None = None
    model: str | None = None
    dates: tuple[date, ...] = ()  # none, a start, or a start and an end (inclusive)
    search: str | None = None
    experiment: str | None = None  # one experiment's runs (its id: ``?experiment=``)

    @property
    def narrowing(self) -> bool:
        """Some filter is set (an empty list then means no run matches, not no runs)."""
        return any(
            (self.statuses, self.provider, self.model, self.dates, self.search, self.experiment)
        )


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
        experiment=filters.experiment or None,
        limit=PAGE_SIZE,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
    )


LISTING_KEY = "_history_listing"
TURNS_KEY = "_history_turn_count"
LISTING_SECONDS = 20.0  # a listing is read again after this long, or when the query changes


def cached_listing(
    state: MutableMapping[str, Any], store: Store, query: RunQuery, now: float | None = None
) -> RunPage:
    """The page of runs for ``query``, kept in ``state`` (the session) so that a rerun that
    does not change the query (a row clicked, a toggle) asks the database nothing."""
    now = monotonic() if now is None else now
    kept = state.get(LISTING_KEY)
    if kept is not None and kept[0] == query and now - kept[1] < LISTING_SECONDS:
        return kept[2]
    listing = store.list_runs(query)
    state[LISTING_KEY] = (query, now, listing)
    return listing


def cached_turn_count(
    state: MutableMapping[str, Any], store: Store, query: RunQuery, now: float | None = None
) -> int:
    """How many turns the runs matching ``query`` have (all pages), kept like the listing."""
    now = monotonic() if now is None else now
    whole = export_query(query).model_copy(update={"limit": 1})
    kept = state.get(TURNS_KEY)
    if kept is not None and kept[0] == whole and now - kept[1] < LISTING_SECONDS:
        return kept[2]
    turns = store.export_size(whole)[1]
    state[TURNS_KEY] = (whole, now, turns)
    return turns


def forget_listing(state: MutableMapping[str, Any]) -> None:
    """After a change (a run deleted): the next listing is read afresh."""
    state.pop(LISTING_KEY, None)
    state.pop(TURNS_KEY, None)


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
    """The status, with the stop reason when it says more than the status (a run that
    simply reached its turn limit is "completed")."""
    status = s.status.value
    plain = s.stop_reason in (None, "", status) or (
        s.status is RunStatus.COMPLETED and s.stop_reason == "max_turns"
    )
    return status if plain else f"{status} ({s.stop_reason})"


# What a person looks for first comes first (seen without a sideways scroll at 1400 px); the
# run id, needed only to tell runs apart, is last.
FRAME_COLUMNS = (
    "topic",
    "status",
    "turns",
    "tokens",
    "cost (USD)",
    "when",
    "bot 1",
    "bot 2",
    "duration (s)",
)


def runs_frame(
    items: Sequence[RunSummary],
    tz: tzinfo | None = None,
    with_owner: bool = False,
    owner_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per run, in the order given; the run ids are the column ``run`` (the last,
    after ``owner`` for an admin). ``owner_names``: the names to show for owners whose key
    says nothing to a reader (people of an identity provider)."""
    tz = tz or ZoneInfo("UTC")
    names = owner_names or {}
    rows = [
        {
            "topic": short(s.topic),
            "status": _status(s),
            "turns": s.turn_count,
            "tokens": s.total_tokens,
            "cost (USD)": s.cost_usd,
            "when": s.created_at.astimezone(tz).replace(tzinfo=None),
            "bot 1": _bot(s, 0),
            "bot 2": _bot(s, 1),
            "duration (s)": None if s.duration_s is None else round(s.duration_s, 1),
            **({"owner": names.get(s.owner, s.owner)} if with_owner else {}),
            "run": s.id,
        }
        for s in items
    ]
    columns = [*FRAME_COLUMNS, *(["owner"] if with_owner else []), "run"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["when"] = pd.to_datetime(frame["when"])
    return frame


def column_order(columns: Sequence[str]) -> list[str]:
    """The table's columns as shown: those of ``runs_frame`` in its order, any added later
    (``branches``) before the owner and the run id, which come last."""
    tail = [c for c in ("owner", "run") if c in columns]
    return [c for c in columns if c not in tail] + tail


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

# A bulk export of more turns than this is written by a background job with a progress bar;
# a smaller one is built when its button is pressed.
BULK_INLINE_TURNS = 2_000


@dataclass(frozen=True)
class Download:
    key: str
    label: str
    file_name: str
    mime: str
    data: Callable[[], str | bytes]  # built when the button is pressed, never on a rerun


def run_downloads(run: Run, spreadsheet_safe: bool = False) -> list[Download]:
    """The one run as transcript JSON, turns CSV, training JSONL, Markdown and PDF."""
    name = f"duet-{run.id}"
    return [
        Download("download_json", "Transcript JSON", f"{name}.json", "application/json",
                 lambda: exports.transcript_json(run)),
        Download("download_csv", "Turns CSV", f"{name}.csv", "text/csv",
                 lambda: exports.turns_csv([run], spreadsheet_safe=spreadsheet_safe)),
        Download("download_jsonl", "Training JSONL", f"{name}.jsonl", "application/jsonl",
                 lambda: exports.training_jsonl(run)),
        Download("download_md", "Markdown", f"{name}.md", "text/markdown",
                 lambda: exports.transcript_markdown(run)),
        Download("download_pdf", "PDF", f"{name}.pdf", "application/pdf",
                 lambda: transcript_pdf(run)),
    ]  # fmt: skip


def export_query(query: RunQuery) -> RunQuery:
    """The same filters, every page (bulk exports ignore limit and offset)."""
    return query.model_copy(update={"offset": 0})


def bulk_export(
    store: Store, query: RunQuery, fmt: str, spreadsheet_safe: bool = False
) -> Callable[[], bytes]:
    """Builds the file of every matching run (``csv``, ``json`` or ``jsonl``), when called,
    straight from the database rows (``duet_core.exports.bulk``)."""

    def build() -> bytes:
        out = io.BytesIO()
        exports_bulk.write_export(
            store, export_query(query), fmt, out, spreadsheet_safe=spreadsheet_safe
        )
        return out.getvalue()

    return build


def bulk_csv(store: Store, query: RunQuery, spreadsheet_safe: bool = False) -> Callable[[], str]:
    """The CSV of every turn of every matching run, when called."""
    build = bulk_export(store, query, "csv", spreadsheet_safe)
    return lambda: build().decode("utf-8")


def bulk_json(store: Store, query: RunQuery) -> Callable[[], str]:
    """A JSON list of the transcripts of every matching run, when called."""
    build = bulk_export(store, query, "json")
    return lambda: build().decode("utf-8")


def statuses() -> list[str]:
    return [s.value for s in RunStatus]
