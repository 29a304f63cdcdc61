"""Transcripts out of a ``Run``: JSON (``duet.transcript/1``), CSV, training JSONL, Markdown.

Pure functions: no database, no Streamlit. ``export_run`` picks the format from a file name.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from duet_core.errors import ConfigError
from duet_core.models import TURN_FIELDS, Evaluation, Run, RunStatus, Turn
from duet_core.run.bot_view import merge_roles
from duet_core.saved import bot_config_from_saved, prompt_ref_from_saved, run_config_from_saved

SCHEMA = "duet.transcript/1"

CSV_COLUMNS = (
    "run_id",
    "turn",
    "bot_index",
    "bot_name",
    "provider",
    "model",
    "temperature",
    "content",
    "thinking",
    "input_tokens",
    "output_tokens",
    "ttft_ms",
    "latency_ms",
    "cost_usd",
    "finish_reason",
    "started_at",
    "finished_at",
)

CSV_FIELDS = {"turn": "index"}  # a CSV column named apart from its turn field

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

EXPORT_FORMATS = (".json", ".csv", ".jsonl", ".md", ".pdf")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with time zone; a naive datetime is taken as UTC."""
    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


# --- JSON ------------------------------------------------------------------------------


def turn_record(turn: Turn) -> dict[str, Any]:
    """The turn's ``TURN_FIELDS`` as plain values: configs as their saved JSON, times as
    datetimes. The one shape both exporters take (``turn_record_from_row`` reads it from a
    database row)."""
    record = {}
    for name in TURN_FIELDS:
        value = getattr(turn, name)
        record[name] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return record


def turn_record_from_row(row: Any) -> dict[str, Any]:
    """A turn record from a row of ``Store.export_rows``, as saved (configs not validated);
    fields the row left out are None."""
    m = row._mapping
    return {name: m.get(name) for name in TURN_FIELDS}


def turn_json(record: dict[str, Any]) -> dict[str, Any]:
    """A turn (or run) record as the transcript's JSON (times in ISO 8601)."""
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in record.items()}


def _turn_dict(turn: Turn) -> dict[str, Any]:
    return turn_json(turn_record(turn))


# The transcript's run fields; a database row has them under the same names but one.
RUN_FIELDS = (
    "id",
    "topic",
    "status",
    "stop_reason",
    "error",
    "created_at",
    "finished_at",
    "created_by",
    "max_turns",
    "parent_id",
    "fork_turn",
)
RUN_COLUMNS = {"created_by": "owner"}


def run_record(run: Run) -> dict[str, Any]:
    """The run's ``RUN_FIELDS`` as plain values (times as datetimes)."""
    values = {
        **{name: getattr(run, RUN_COLUMNS.get(name, name), None) for name in RUN_FIELDS},
        "topic": run.config.topic,
        "max_turns": run.config.max_turns,
        "status": RunStatus(run.status).value,
    }
    return {name: values[name] for name in RUN_FIELDS}


# A judge's evaluation in the transcript (its request stays in the database).
EVALUATION_FIELDS = (
    "judge",
    "criterion",
    "per",
    "turn",
    "score",
    "reason",
    "provider",
    "model",
    "cost_usd",
    "created_at",
    "created_by",
)


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    """``{"judge", "criterion", "per", "turn", "score", "reason", "model", ...}``."""
    return turn_json({name: getattr(evaluation, name) for name in EVALUATION_FIELDS})


def transcript_document(
    run: dict[str, Any],
    bots: list[dict[str, Any]],
    turns: Iterable[dict[str, Any]],
    evaluations: Iterable[Evaluation] | None = None,
) -> dict[str, Any]:
    """A ``duet.transcript/1`` document from a run record, the bots' configs as JSON, turn
    records and (when known) the judges' evaluations."""
    document = {
        "schema": SCHEMA,
        "run": turn_json(run),
        "bots": bots,
        "turns": [turn_json(t) for t in turns],
    }
    if evaluations is not None:
        document["evaluations"] = [evaluation_json(e) for e in evaluations]
    return document


def transcript_dict(run: Run) -> dict[str, Any]:
    """The run as a ``duet.transcript/1`` document (plain JSON types)."""
    return transcript_document(
        run_record(run),
        [bot.model_dump(mode="json") for bot in run.config.bots],
        [turn_record(t) for t in run.turns],
        run.evaluations,
    )


def transcript_json(run: Run) -> str:
    return json.dumps(transcript_dict(run), ensure_ascii=False, indent=2) + "\n"


def runs_json(runs: Iterable[Run]) -> str:
    """A JSON list of transcripts, one per run (bulk download)."""
    return json.dumps([transcript_dict(r) for r in runs], ensure_ascii=False, indent=2) + "\n"


def transcript_from_json(text: str) -> Run:
    """Read a ``duet.transcript/1`` document back into a Run.

    The file keeps only the topic, turn limit and bots of the run's config; first speaker,
    stop phrases and budgets come back as their defaults.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"Not valid JSON: {e}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ConfigError(f'Not a Duet transcript: expected "schema": "{SCHEMA}"')
    try:
        info = data["run"]
        config = run_config_from_saved(
            {"topic": info["topic"], "max_turns": info["max_turns"], "bots": data["bots"]}
        )
        run = Run(
            id=info["id"],
            owner=info.get("created_by") or "local",
            config=config,
            status=RunStatus(info["status"]),
            stop_reason=info.get("stop_reason"),
            error=info.get("error"),
            created_at=info["created_at"],
            finished_at=info.get("finished_at"),
            parent_id=info.get("parent_id"),
            fork_turn=info.get("fork_turn"),
        )
        run.turns = [_turn_from_dict(t) for t in data.get("turns") or []]
        run.evaluations = [
            Evaluation.model_validate({**e, "run_id": run.id})
            for e in data.get("evaluations") or []
        ]
        return run
    except (KeyError, TypeError, ValueError) as e:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"Not a valid Duet transcript: {e}") from None


def _turn_from_dict(t: dict[str, Any]) -> Turn:
    turn = Turn(
        **{k: v for k, v in t.items() if k in Turn.model_fields and k not in ("config", "prompt")}
    )
    # assigned, not validated: a config saved earlier loads even if today's rules refuse it
    turn.config = bot_config_from_saved(t.get("config"))
    turn.prompt = prompt_ref_from_saved(t.get("prompt"))
    return turn


# --- CSV -------------------------------------------------------------------------------


def _neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(run_id: str, record: dict[str, Any], spreadsheet_safe: bool = False) -> list[Any]:
    """One CSV row (``CSV_COLUMNS``) from a turn record."""
    row = [
        run_id if column == "run_id" else record[CSV_FIELDS.get(column, column)]
        for column in CSV_COLUMNS
    ]
    row = [iso(v) if isinstance(v, datetime) else v for v in row]
    return [_neutralise(v) for v in row] if spreadsheet_safe else row


def turns_csv(runs: Iterable[Run], spreadsheet_safe: bool = False) -> str:
    """One row per turn of every run, columns ``CSV_COLUMNS``; empty cells for unknowns.

    With ``spreadsheet_safe``, a text cell that a spreadsheet would run as a formula (it
    starts with = + - @, a tab or a carriage return) gets a leading apostrophe.
    """
    out = io.StringIO()
    writer = csv.writer(out)  # QUOTE_MINIMAL: commas, quotes and newlines are quoted
    writer.writerow(CSV_COLUMNS)
    for run in runs:
        for t in run.turns:
            writer.writerow(csv_row(run.id, turn_record(t), spreadsheet_safe))
    return out.getvalue()


# --- training JSONL --------------------------------------------------------------------


def training_messages(run: Run, bot_index: int) -> list[dict[str, str]]:
    """The conversation as bot ``bot_index`` sees it, as a chat-format training sample.

    When the bot's last reply recorded its ``request_messages``, the sample is exactly those
    (system prompt, persona examples, the conversation as sent) followed by the reply.
    Otherwise (a transcript from before they were recorded) it is rebuilt: the topic opens
    as ``user``; the bot's own turns are ``assistant``, the partner's and a
    person's are ``user``; consecutive same-role messages are merged with a blank line;
    trailing ``user`` messages are dropped so the sample ends with the bot's reply. The
    system prompt is the one the bot's last reply used. Empty when the bot never spoke.
    """
    mine = [t for t in run.turns if t.bot_index == bot_index and t.content.strip()]
    if mine and mine[-1].request_messages is not None:
        sent = [{"role": m["role"], "content": m["content"]} for m in mine[-1].request_messages]
        return [*sent, {"role": "assistant", "content": mine[-1].content}]
    system = run.config.bots[bot_index].system_prompt
    spoken = [t for t in run.turns if t.content.strip()]
    for t in spoken:
        if t.bot_index == bot_index and t.config is not None:
            system = t.config.system_prompt
    pairs = [("assistant" if t.bot_index == bot_index else "user", t.content) for t in spoken]
    messages: list[dict[str, str]] = list(merge_roles([("user", run.config.topic), *pairs]))
    while messages and messages[-1]["role"] == "user":
        messages.pop()
    if not messages:
        return []
    return ([{"role": "system", "content": system}] if system.strip() else []) + messages


def training_jsonl(run: Run) -> str:
    """One ``{"messages": [...]}`` line per bot that spoke (OpenAI fine-tuning format)."""
    lines = []
    for i in range(len(run.config.bots)):
        messages = training_messages(run, i)
        if messages:
            lines.append(json.dumps({"messages": messages}, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


# --- Markdown --------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _bot_line(i: int, run: Run) -> str:
    b = run.config.bots[i]
    knobs = [f"{b.provider} · {b.model}"]
    if b.temperature is not None:
        knobs.append(f"temperature {b.temperature}")
    if b.effort is not None:
        knobs.append(f"effort {b.effort}")
    if b.prompt is not None:
        knobs.append(f"template {b.prompt.label}")
    line = f"- **{b.name}** ({', '.join(knobs)})"
    if b.system_prompt.strip():
        line += "\n\n" + "\n".join("  " + s for s in _quote(b.system_prompt).splitlines())
    return line


def transcript_markdown(run: Run) -> str:
    """A readable transcript: title, topic, bots, then each turn under its speaker's name."""
    status = RunStatus(run.status).value + (f" ({run.stop_reason})" if run.stop_reason else "")
    parts = [
        f"# Duet run {run.id}",
        f"**Topic:**\n\n{_quote(run.config.topic)}",
        f"Started {iso(run.created_at)} by {run.owner} · status: {status}",
    ]
    if run.error:
        parts.append(f"**Error:** {run.error}")
    parts.append("## Bots\n\n" + "\n".join(_bot_line(i, run) for i in range(len(run.config.bots))))
    parts.append("## Conversation")
    for t in run.turns:
        who = f"{t.bot_name} (person)" if t.by_person else t.bot_name
        model = f" · {t.model}" if t.model else ""
        block = [f"### {t.index + 1}. {who}{model}"]
        if t.thinking.strip():
            block.append("*Thinking:*\n\n" + _quote(t.thinking))
        block.append(t.content if t.content.strip() else "*(no reply)*")
        parts.append("\n\n".join(block))
    return "\n\n".join(parts) + "\n"


# --- files -----------------------------------------------------------------------------


def export_text(run: Run, suffix: str) -> str:
    """The run in the format named by a file extension (``.json``, ``.csv``, ``.jsonl``,
    ``.md``)."""
    suffix = suffix.lower()
    if suffix == ".json":
        return transcript_json(run)
    if suffix == ".csv":
        return turns_csv([run])
    if suffix == ".jsonl":
        return training_jsonl(run)
    if suffix == ".md":
        return transcript_markdown(run)
    raise ConfigError(f"Unknown export format '{suffix}': use .json, .csv, .jsonl, .md or .pdf")


def export_run(run: Run, path: str | Path) -> None:
    """Write the run to ``path`` in the format its extension names (UTF-8 text; ``.pdf``
    a PDF)."""
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        from duet_core.exports.pdf import transcript_pdf  # WeasyPrint loads only for a PDF

        path.write_bytes(transcript_pdf(run))
        return
    text = export_text(run, path.suffix)
    path.write_text(text, encoding="utf-8", newline="")
