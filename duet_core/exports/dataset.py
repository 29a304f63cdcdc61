"""An experiment as a dataset (docs/design.md, "Experiments (batches)"), written straight from
the database a batch of runs at a time (memory bounded by the batch):

- ``.jsonl``: one conversation per line in chat format, ``{"messages": [{"role", "content",
  "name"}...], "metadata": {"run_id", "experiment", "cell", "topic", "bots", ...}}``. The topic
  opens as ``user`` (name ``topic``); each bot's reply is ``assistant`` with the bot's name; a
  person's message is ``user`` with theirs. With ``perspective`` 0 or 1, the messages are the
  conversation as that bot saw it (its system prompt, its turns ``assistant``, the other's
  ``user``), ready for fine-tuning (``transcript.training_messages``).
- ``.parquet``: one row per conversation: ``run_id``, ``experiment``, ``topic``, the cell's
  values as columns (each varied path, ``repeat``), the bots, ``messages`` (a list of
  role/content/name structs), status, stop reason and totals. ``pandas.read_parquet`` and
  Hugging Face ``datasets`` load it as it is.
- ``.csv``: one row per turn, the columns of a run's CSV (``transcript.CSV_COLUMNS``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from duet_core.batch.experiment import REPEAT, TOPIC
from duet_core.batch.paths import check_path, path_text
from duet_core.errors import ConfigError
from duet_core.exports import transcript
from duet_core.models import Run, RunStatus
from duet_core.store import Store
from duet_core.store.experiments import ExperimentQueue, ExperimentRecord
from duet_core.store.leases import effective_status
from duet_core.store.rows import run_from_rows

DATASET_FORMATS = (".jsonl", ".parquet", ".csv")
WRITE_BATCH = 100  # conversations per Parquet row group


def _record(store: Store, experiment_id: str) -> ExperimentRecord:
    record = ExperimentQueue(store).get(experiment_id)
    if record is None:
        raise ConfigError(f"No experiment {experiment_id}: list them to find its id.")
    return record


def _runs(store: Store, experiment_id: str, with_json: bool = True) -> Iterator[tuple[Any, Run]]:
    for run_row, turn_rows in ExperimentQueue(store).rows(experiment_id, with_json=with_json):
        yield run_row, run_from_rows(run_row, turn_rows)


def chat_messages(run: Run, perspective: int | None = None) -> list[dict[str, str]]:
    """The conversation in chat format (see the module docstring)."""
    if perspective is not None:
        return [
            {**m, "name": _speaker(run, m["role"], perspective)}
            for m in transcript.training_messages(run, perspective)
        ]
    messages = [{"role": "user", "content": run.config.topic, "name": TOPIC}]
    for t in run.turns:
        role = "user" if t.by_person else "assistant"
        messages.append({"role": role, "content": t.content, "name": t.bot_name})
    return messages


def _speaker(run: Run, role: str, perspective: int) -> str:
    if role == "assistant":
        return run.config.bots[perspective].name
    if role == "system":
        return "system"
    return run.config.bots[1 - perspective].name


def _totals(run_row: Any, run: Run) -> dict[str, Any]:
    latencies = [t.latency_ms for t in run.turns if t.latency_ms is not None]
    return {
        "status": effective_status(RunStatus(run_row.status), run_row.lease_expires_at).value,
        "stop_reason": run.stop_reason,
        "turns": run_row.turn_count or 0,
        "input_tokens": run_row.input_tokens or 0,
        "output_tokens": run_row.output_tokens or 0,
        "cost_usd": None if run_row.unpriced_turns else round(run_row.cost_usd or 0.0, 8),
        "latency_ms": round(sum(latencies), 1) if latencies else None,
    }


def _metadata(record: ExperimentRecord, run_row: Any, run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "experiment": record.id,
        "experiment_name": record.name,
        "cell": run.experiment_cell or {},
        "topic": run.config.topic,
        "bots": [b.model_dump(mode="json", exclude_none=True) for b in run.config.bots],
        **_totals(run_row, run),
    }


# --- JSONL ---------------------------------------------------------------------------------


def write_jsonl(
    store: Store, experiment_id: str, out: BinaryIO, perspective: int | None = None
) -> int:
    """One line per conversation; returns how many."""
    record = _record(store, experiment_id)
    n = 0
    for run_row, run in _runs(store, experiment_id):
        line = {
            "messages": chat_messages(run, perspective),
            "metadata": _metadata(record, run_row, run),
        }
        out.write((json.dumps(line, ensure_ascii=False) + "\n").encode())
        n += 1
    return n


# --- CSV -----------------------------------------------------------------------------------


def write_csv(
    store: Store, experiment_id: str, out: BinaryIO, spreadsheet_safe: bool = False
) -> int:
    """One row per turn, as a run's CSV; returns how many turns."""
    _record(store, experiment_id)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(transcript.CSV_COLUMNS)
    n = 0
    for run_row, turn_rows in ExperimentQueue(store).rows(experiment_id, with_json=False):
        for t in turn_rows:
            record = transcript.turn_record_from_row(t)
            writer.writerow(transcript.csv_row(run_row.id, record, spreadsheet_safe))
            n += 1
    text.flush()
    text.detach()
    return n


# --- Parquet -------------------------------------------------------------------------------


def cell_columns(record: ExperimentRecord) -> list[tuple[str, str]]:
    """The cell's columns, in the file's order, with their Arrow type: ``topic`` when the
    experiment has topics, each varied path, ``repeat``. A path whose values mix types is a
    string column (non-strings as JSON)."""
    spec = record.spec
    columns: list[tuple[str, str]] = []
    if spec.get("topics") is not None:
        columns.append((TOPIC, "string"))
    for raw, values in (spec.get("vary") or {}).items():
        columns.append((path_text(check_path(raw)), _kind(values)))
    columns.append((REPEAT, "int64"))
    return columns


def _kind(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float64"
    if all(isinstance(v, str) for v in values):
        return "string"
    return "json"


def _cell_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if kind == "float64":
        return float(value)
    return value


def write_parquet(store: Store, experiment_id: str, out: BinaryIO | str | Path) -> int:
    """One row per conversation (see the module docstring); returns how many."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    record = _record(store, experiment_id)
    cells = cell_columns(record)
    arrow = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    arrow |= {"bool": pa.bool_(), "json": pa.string()}
    message = pa.struct([("role", pa.string()), ("content", pa.string()), ("name", pa.string())])
    fields = [
        ("run_id", pa.string()),
        ("experiment", pa.string()),
        *((name, arrow[kind]) for name, kind in cells if name != TOPIC),
        ("topic", pa.string()),  # a cell's topic too, when topics are varied
        ("bot0_name", pa.string()),
        ("bot0_provider", pa.string()),
        ("bot0_model", pa.string()),
        ("bot1_name", pa.string()),
        ("bot1_provider", pa.string()),
        ("bot1_model", pa.string()),
        ("messages", pa.list_(message)),
        ("status", pa.string()),
        ("stop_reason", pa.string()),
        ("turns", pa.int64()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
        ("latency_ms", pa.float64()),
    ]
    schema = pa.schema(fields)
    n = 0
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[dict[str, Any]] = []
        for run_row, run in _runs(store, experiment_id):
            cell = run.experiment_cell or {}
            bots = run.config.bots
            row = {
                "run_id": run.id,
                "experiment": record.id,
                **{name: _cell_value(cell.get(name), kind) for name, kind in cells},
                "topic": run.config.topic,
                **{f"bot{i}_name": bots[i].name for i in (0, 1)},
                **{f"bot{i}_provider": bots[i].provider for i in (0, 1)},
                **{f"bot{i}_model": bots[i].model for i in (0, 1)},
                "messages": chat_messages(run),
                **_totals(run_row, run),
            }
            batch.append(row)
            if len(batch) >= WRITE_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n, batch = n + len(batch), []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


# --- files ---------------------------------------------------------------------------------


def check_dataset_path(path: str | Path) -> str:
    """The format of ``path`` (its extension) when it is one a dataset is written in."""
    suffix = Path(path).suffix.lower()
    if suffix not in DATASET_FORMATS:
        raise ConfigError(f"Unknown dataset format '{suffix}': use {', '.join(DATASET_FORMATS)}.")
    return suffix


def write_dataset(
    store: Store,
    experiment_id: str,
    path: str | Path,
    *,
    perspective: int | None = None,
    spreadsheet_safe: bool = False,
) -> int:
    """Write the experiment to ``path`` in the format its extension names; returns how many
    conversations (turns, for CSV). Written to a temporary file first, then moved in place."""
    suffix = check_dataset_path(path)
    _record(store, experiment_id)  # a wrong id fails before the file is touched
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as out:
            if suffix == ".jsonl":
                n = write_jsonl(store, experiment_id, out, perspective)
            elif suffix == ".csv":
                n = write_csv(store, experiment_id, out, spreadsheet_safe)
            else:
                n = write_parquet(store, experiment_id, out)
        partial.replace(path)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"Cannot write {path}: {e.strerror or e}.") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return n
