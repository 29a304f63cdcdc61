"""Bulk exports from rows: the files say what the saved turns say, on both databases, and the
turn's field list is one list everywhere."""

from __future__ import annotations

import gzip
import io
import json

import pandas as pd
import pytest

from duet_core.errors import ConfigError
from duet_core.exports import bulk as exports_bulk
from duet_core.exports import transcript as exports
from duet_core.models import TURN_FIELDS, BotConfig, PromptRef, RunStatus, Turn
from duet_core.store import RunQuery
from duet_core.store.rows import TURN_COLUMNS
from duet_core.store.schema import turns
from duet_core.store.selection import EXPORT_BATCH

TRICKY = 'Commas, "quotes",\nnew lines, émojis 🚀 and =FORMULA()'


@pytest.fixture
def saved(store, make_run, make_turn):
    """Runs over more than one export batch, with a person's turn, thinking, a template
    reference, request messages, an unknown cost and an empty run."""
    made = []
    for i in range(EXPORT_BATCH + 3):
        run = make_run(f"Topic {i}", status=RunStatus.COMPLETED, owner="alice" if i % 2 else "bob")
        run.turns = [make_turn(run, 0), make_turn(run, 1, content=TRICKY, cost=None)]
        made.append(run)
    special = made[0]
    special.turns[0].thinking = "Let me think… 🤔"
    special.turns[0].prompt = PromptRef(name="debater", version=2, variables={"side": "pro"})
    special.turns[0].request_messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": special.config.topic},
    ]
    special.turns.append(
        Turn(index=2, bot_index=None, bot_name="Sam", content="-1 say I", finish_reason="person")
    )
    made.append(
        made[-1].model_copy(update={"id": "emptyrun", "turns": [], "config": special.config})
    )
    for run in made:
        store.create_run(run)
    return made


def _bulk(store, fmt: str, query: RunQuery | None = None, **kw) -> str:
    out = io.BytesIO()
    exports_bulk.write_export(store, query or RunQuery(), fmt, out, **kw)
    return out.getvalue().decode("utf-8")


def test_bulk_json_round_trips_to_the_saved_runs(store, saved):
    documents = json.loads(_bulk(store, "json"))
    assert len(documents) == len(saved)
    for document in documents:
        again = exports.transcript_from_json(json.dumps(document))
        stored = store.get_run(again.id)
        assert again.turns == stored.turns
        assert document == exports.transcript_dict(stored)  # the same as one run's download


def test_bulk_jsonl_is_one_transcript_a_line(store, saved):
    lines = _bulk(store, "jsonl").splitlines()
    assert len(lines) == len(saved)
    first = store.get_run(json.loads(lines[0])["run"]["id"])
    assert json.loads(lines[0]) == exports.transcript_dict(first)


def test_bulk_csv_equals_the_csv_built_from_models(store, saved):
    text = _bulk(store, "csv")
    assert text == exports.turns_csv(store.runs_for_export(RunQuery()))
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(frame.columns) == list(exports.CSV_COLUMNS)
    assert (frame["content"] == TRICKY).sum() == len(saved) - 1
    safe = _bulk(store, "csv", spreadsheet_safe=True)
    assert safe == exports.turns_csv(store.runs_for_export(RunQuery()), spreadsheet_safe=True)
    assert "'=FORMULA" not in safe and "'-1 say I" in safe  # only whole cells that start so


def test_bulk_follows_the_filters_and_reports_progress(store, saved):
    seen = []
    text = _bulk(store, "csv", RunQuery(owner="alice"), progress=lambda d, t: seen.append((d, t)))
    alice = [r for r in saved if r.owner == "alice"]
    assert len(text.strip().splitlines()) >= 1 + 2 * len(alice)
    lines = _bulk(store, "jsonl", RunQuery(owner="alice")).splitlines()
    assert {json.loads(x)["run"]["created_by"] for x in lines} == {"alice"}
    assert seen[-1] == (2 * len(alice), 2 * len(alice))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_progress_can_cancel(store, saved):
    class Cancelled(Exception):
        pass

    def stop(done: int, total: int) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        _bulk(store, "json", progress=stop)


def test_compressed_file(store, saved, tmp_path):
    path = tmp_path / "all.jsonl.gz"
    n = exports_bulk.export_to_file(store, RunQuery(), "jsonl", str(path), compress=True)
    assert n == sum(len(r.turns) for r in saved)
    assert gzip.decompress(path.read_bytes()).decode() == _bulk(store, "jsonl")


def test_unknown_format(store):
    with pytest.raises(ConfigError, match="Unknown export format"):
        _bulk(store, "xml")


def test_one_turn_field_list():
    """Store columns, transcript turn fields and CSV columns all come from TURN_FIELDS."""
    assert set(TURN_FIELDS) == {*Turn.model_fields, "provider", "model", "temperature"}
    assert {c.key for c in turns.c} == {"run_id", *TURN_COLUMNS}
    assert set(TURN_COLUMNS) == set(TURN_FIELDS) - {"temperature"}
    bot = BotConfig(name="Ada", temperature=0.5)
    turn = Turn(index=0, bot_index=0, bot_name="Ada", config=bot)
    assert list(exports.turn_record(turn)) == list(TURN_FIELDS)
    csv_fields = {exports.CSV_FIELDS.get(c, c) for c in exports.CSV_COLUMNS} - {"run_id"}
    assert csv_fields <= set(TURN_FIELDS)
