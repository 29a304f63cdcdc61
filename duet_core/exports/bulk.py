"""Bulk exports straight from the database: every run a query matches, as one CSV of turns, a
JSON list of transcripts, or JSON Lines (one transcript per line).

Rows, not models: ``Store.export_rows`` reads a batch of runs and their turns at a time, and
each row becomes a record (``exports.turn_record_from_row``) written out at once, so memory is
bounded by one batch whatever the size of the export, and no saved config is validated again.
The records are the same ones the single-run exporters in
``duet_core.exports.transcript`` use, so a bulk file says exactly what the per-run downloads say.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from duet_core.errors import ConfigError
from duet_core.exports import transcript as exports
from duet_core.models import RunStatus
from duet_core.store import RunQuery, Store
from duet_core.store.leases import effective_status

FORMATS = ("csv", "json", "jsonl")
MIME = {"csv": "text/csv", "json": "application/json", "jsonl": "application/jsonl"}
Progress = Callable[[int, int], None]  # (turns written, turns in all)


def _run_record(row: Any) -> dict[str, Any]:
    m = row._mapping
    record = {name: m.get(exports.RUN_COLUMNS.get(name, name)) for name in exports.RUN_FIELDS}
    record["status"] = effective_status(RunStatus(m["status"]), m.get("lease_expires_at")).value
    return record


def _document(run_row: Any, turn_rows: list[Any], evaluations: list[Any]) -> dict[str, Any]:
    bots = (run_row.config or {}).get("bots") or []
    turns = (exports.turn_record_from_row(t) for t in turn_rows)
    return exports.transcript_document(_run_record(run_row), bots, turns, evaluations)


def _with_evaluations(store: Store, rows: Iterable[tuple[Any, list[Any]]], batch: int = 200):
    """``rows`` with each run's evaluations, read for ``batch`` runs at a time (as a run's own
    JSON has them: the bulk file says what the per-run downloads say)."""
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, batch)):
        found = store.evaluations.for_runs([run_row.id for run_row, _ in chunk])
        for run_row, turn_rows in chunk:
            yield run_row, turn_rows, found.get(run_row.id, [])


def write_export(
    store: Store,
    query: RunQuery,
    fmt: str,
    out: BinaryIO,
    *,
    spreadsheet_safe: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write every run matching ``query`` (its limit and offset ignored) to ``out`` as UTF-8
    in format ``fmt`` (``csv``, ``json`` or ``jsonl``); return the number of turns written.

    ``progress(done, total)`` is called after each run; it may raise to cancel the export.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown export format '{fmt}': use {', '.join(FORMATS)}")
    total = store.export_size(query)[1] if progress else 0
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    done = 0
    try:
        rows = store.export_rows(query, with_json=fmt != "csv")
        if fmt == "csv":
            writer = csv.writer(text)
            writer.writerow(exports.CSV_COLUMNS)
            for run_row, turn_rows in rows:
                writer.writerows(
                    exports.csv_row(run_row.id, exports.turn_record_from_row(t), spreadsheet_safe)
                    for t in turn_rows
                )
                done += len(turn_rows)
                if progress:
                    progress(done, total)
        else:
            first = True
            text.write("[\n" if fmt == "json" else "")
            for run_row, turn_rows, judged in _with_evaluations(store, rows):
                document = _document(run_row, turn_rows, judged)
                if fmt == "json":
                    text.write("" if first else ",\n")
                    text.write(json.dumps(document, ensure_ascii=False, indent=2))
                else:
                    text.write(json.dumps(document, ensure_ascii=False) + "\n")
                first = False
                done += len(turn_rows)
                if progress:
                    progress(done, total)
            text.write("\n]\n" if fmt == "json" else "")
        text.flush()
    finally:
        text.detach()  # leave ``out`` open: it belongs to the caller
    return done


def export_to_file(
    store: Store,
    query: RunQuery,
    fmt: str,
    path: str,
    *,
    compress: bool = False,
    spreadsheet_safe: bool = False,
    progress: Progress | None = None,
) -> int:
    """``write_export`` into the file at ``path``, gzip-compressed when ``compress``."""
    with open(path, "wb") as raw:
        if not compress:
            return write_export(
                store, query, fmt, raw, spreadsheet_safe=spreadsheet_safe, progress=progress
            )
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as zipped:
            return write_export(
                store, query, fmt, zipped, spreadsheet_safe=spreadsheet_safe, progress=progress
            )
