"""Exports: transcript JSON, CSV (pandas round trip, spreadsheet-safe), training JSONL, Markdown."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duet_core.errors import ConfigError
from duet_core.exports import transcript as exports
from duet_core.exports.transcript import (
    CSV_COLUMNS,
    export_run,
    runs_json,
    training_jsonl,
    transcript_dict,
    transcript_from_json,
    transcript_json,
    transcript_markdown,
    turns_csv,
)
from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn, id_from

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

TRICKY = [
    "Commas, \"double quotes\", and 'single' ones",
    "Line one\nLine two\n\nAfter a blank line",
    "Windows\r\nline ends",
    "Emoji 🚀👩‍🔬 and 漢字, Ünïcödé",
    '=HYPERLINK("http://evil")',
    "-2+3",
    "   leading and trailing spaces   ",
    "Ends with a newline\n",
]


def bot(name: str, system: str = "", **kw) -> BotConfig:
    return BotConfig(name=name, system_prompt=system, temperature=0.7, **kw)


def turn(index: int, bot_index: int | None, name: str, content: str, cfg=None, **kw) -> Turn:
    started = T0 + timedelta(seconds=5 * index)
    return Turn(
        index=index,
        bot_index=bot_index,
        bot_name=name,
        content=content,
        config=cfg,
        started_at=started,
        finished_at=started + timedelta(seconds=2),
        **kw,
    )


@pytest.fixture
def run() -> Run:
    ada, bo = bot("Ada", "You are Ada, a pirate."), bot("Bo", "You are Bo, a ninja.")
    r = Run(
        id="run123",
        owner="alice",
        config=RunConfig(topic="Pirates vs ninjas?", max_turns=8, bots=[ada, bo]),
        status=RunStatus.COMPLETED,
        stop_reason="max_turns",
        created_at=T0,
        finished_at=T0 + timedelta(minutes=1),
    )
    r.turns = [
        turn(0, 0, "Ada", "Arr, pirates win.", ada, thinking="Be bold.", finish_reason="stop"),
        turn(1, 1, "Bo", "Ninjas strike unseen.", bo, input_tokens=20, finish_reason="stop"),
        turn(2, None, "Sam", "Keep it friendly!", finish_reason="person"),
        turn(3, 1, "Bo", "Friendly ninjas, then.", bo),
        turn(4, 0, "Ada", "Agreed, matey.", ada),
        turn(5, 1, "Bo", "", bo, finish_reason="error"),  # an empty, failed reply
    ]
    r.turns[0].input_tokens, r.turns[0].output_tokens, r.turns[0].cost_usd = 10, 5, 0.0001
    r.turns[0].ttft_ms, r.turns[0].latency_ms = 80.0, 900.5
    return r


def read_csv(text: str, **kw) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), **kw)


# --- JSON ------------------------------------------------------------------------------


def test_transcript_json_schema(run):
    doc = json.loads(transcript_json(run))
    assert doc["schema"] == "duet.transcript/1"
    assert list(doc) == ["schema", "run", "bots", "turns", "evaluations"]  # judges: DESIGN
    assert doc["evaluations"] == []
    assert doc["run"] == {
        "id": "run123",
        "topic": "Pirates vs ninjas?",
        "status": "completed",
        "stop_reason": "max_turns",
        "error": None,
        "created_at": "2026-03-01T12:00:00+00:00",
        "finished_at": "2026-03-01T12:01:00+00:00",
        "created_by": "alice",
        "max_turns": 8,
        "parent_id": None,
        "fork_turn": None,
    }
    assert doc["bots"] == [b.model_dump(mode="json") for b in run.config.bots]
    assert "api_key" not in json.dumps(doc["bots"])
    first = doc["turns"][0]
    assert list(first) == [
        "index", "bot_index", "bot_name", "provider", "model", "temperature", "content",
        "thinking", "config", "prompt", "request_messages", "started_at", "finished_at",
        "ttft_ms", "latency_ms",
        "input_tokens", "output_tokens", "cost_usd", "finish_reason",
    ]  # fmt: skip
    assert first["provider"] == "demo" and first["model"] == "duet-demo"
    assert first["temperature"] == 0.7 and first["thinking"] == "Be bold."
    assert first["config"]["system_prompt"] == "You are Ada, a pirate."
    person = doc["turns"][2]
    assert person["bot_index"] is None and person["config"] is None and person["provider"] is None
    for t in doc["turns"]:
        assert datetime.fromisoformat(t["started_at"]).tzinfo is not None


def test_naive_datetimes_are_written_as_utc(run):
    run.turns[0].finished_at = datetime(2026, 3, 1, 12, 0, 2)
    assert transcript_dict(run)["turns"][0]["finished_at"] == "2026-03-01T12:00:02+00:00"


def test_transcript_round_trip(run):
    again = transcript_from_json(transcript_json(run))
    assert again == run


def test_transcript_from_json_loads_a_config_that_no_longer_validates(run):
    doc = transcript_dict(run)
    doc["turns"][0]["config"].update(provider="anthropic", model="claude-x", temperature=0.9)
    doc["bots"][0].update(provider="anthropic", model="claude-x", temperature=0.9)
    again = transcript_from_json(json.dumps(doc))
    assert again.turns[0].config.temperature == 0.9
    assert again.config.bots[0].provider == "anthropic"


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"schema": "other/1"}', '{"schema": "duet.transcript/1"}']
)
def test_transcript_from_json_rejects_other_files(text):
    with pytest.raises(ConfigError):
        transcript_from_json(text)


def test_runs_json_is_a_list_of_transcripts(run):
    other = run.model_copy(update={"id": "run456"})
    docs = json.loads(runs_json([run, other]))
    assert [d["run"]["id"] for d in docs] == ["run123", "run456"]
    assert all(d["schema"] == "duet.transcript/1" for d in docs)
    assert json.loads(runs_json([])) == []


# --- CSV -------------------------------------------------------------------------------


def test_csv_columns_and_rows(run):
    text = turns_csv([run, run.model_copy(update={"id": "run456"})])
    header = next(csv.reader(io.StringIO(text)))
    assert header == list(CSV_COLUMNS) == [
        "run_id", "turn", "bot_index", "bot_name", "provider", "model", "temperature",
        "content", "thinking", "input_tokens", "output_tokens", "ttft_ms", "latency_ms",
        "cost_usd", "finish_reason", "started_at", "finished_at",
    ]  # fmt: skip
    df = read_csv(text)
    assert len(df) == 2 * len(run.turns)
    assert df["turn"].tolist()[:6] == [0, 1, 2, 3, 4, 5]
    assert df.loc[0, "cost_usd"] == 0.0001 and df.loc[0, "latency_ms"] == 900.5
    assert pd.isna(df.loc[2, "bot_index"]) and pd.isna(df.loc[2, "model"])
    assert df.loc[0, "started_at"] == "2026-03-01T12:00:00+00:00"


def test_csv_round_trips_tricky_text_through_pandas(run):
    run.turns = [
        turn(i, i % 2, name, text, thinking=text)
        for i, (name, text) in enumerate(
            zip(['Ada, "the" pirate', "Bo\nninja"] * len(TRICKY), TRICKY, strict=False)
        )
    ]
    df = read_csv(turns_csv([run]), dtype=str, keep_default_na=False)
    assert df["content"].tolist() == TRICKY
    assert df["thinking"].tolist() == TRICKY
    assert df["bot_name"].tolist()[:2] == ['Ada, "the" pirate', "Bo\nninja"]


def test_csv_spreadsheet_safe(run):
    risky = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tTab", "\rReturn", "fine = ok", "'quoted"]
    run.turns = [turn(i, 0, "Ada", text) for i, text in enumerate(risky)]
    run.turns[0].ttft_ms = -1.5  # numbers are left alone

    plain = read_csv(turns_csv([run]), dtype=str, keep_default_na=False)
    assert plain["content"].tolist() == risky

    safe = read_csv(turns_csv([run], spreadsheet_safe=True), dtype=str, keep_default_na=False)
    assert safe["content"].tolist() == [
        "'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "'\tTab", "'\rReturn", "fine = ok", "'quoted",
    ]  # fmt: skip
    assert safe.loc[0, "ttft_ms"] == "-1.5"
    assert safe.loc[0, "started_at"] == plain.loc[0, "started_at"]


def test_csv_of_no_runs_is_just_the_header():
    assert turns_csv([]).strip() == ",".join(CSV_COLUMNS)


# --- training JSONL --------------------------------------------------------------------


def samples(run: Run) -> list[list[dict]]:
    return [json.loads(line)["messages"] for line in training_jsonl(run).splitlines()]


def test_jsonl_one_sample_per_bot_perspective(run):
    ada, bo = samples(run)
    for messages in (ada, bo):
        assert messages[0]["role"] == "system"
        roles = [m["role"] for m in messages[1:]]
        assert roles[0] == "user" and roles[-1] == "assistant"
        assert all(a != b for a, b in itertools.pairwise(roles))  # alternate

    assert ada == [
        {"role": "system", "content": "You are Ada, a pirate."},
        {"role": "user", "content": "Pirates vs ninjas?"},
        {"role": "assistant", "content": "Arr, pirates win."},
        {
            "role": "user",
            "content": "Ninjas strike unseen.\n\nKeep it friendly!\n\nFriendly ninjas, then.",
        },
        {"role": "assistant", "content": "Agreed, matey."},
    ]
    assert bo == [
        {"role": "system", "content": "You are Bo, a ninja."},
        {"role": "user", "content": "Pirates vs ninjas?\n\nArr, pirates win."},
        {"role": "assistant", "content": "Ninjas strike unseen."},
        {"role": "user", "content": "Keep it friendly!"},
        {"role": "assistant", "content": "Friendly ninjas, then."},
    ]  # Ada's last turn is dropped: a sample ends with the bot's own reply


def test_jsonl_skips_a_bot_that_never_spoke_and_an_empty_system_prompt(run):
    run.config.bots[0] = BotConfig(name="Ada")
    run.turns = [turn(0, 0, "Ada", "Hello.")]
    (only,) = samples(run)
    assert only == [
        {"role": "user", "content": "Pirates vs ninjas?"},
        {"role": "assistant", "content": "Hello."},
    ]
    run.turns = []
    assert training_jsonl(run) == ""


def test_jsonl_uses_the_system_prompt_of_the_bots_last_reply(run):
    changed = bot("Ada", "You are Ada, now a pirate poet.")
    run.turns[4].config = changed
    ada, _ = samples(run)
    assert ada[0] == {"role": "system", "content": "You are Ada, now a pirate poet."}


# --- Markdown --------------------------------------------------------------------------


def test_markdown_is_readable(run):
    md = transcript_markdown(run)
    assert md.startswith("# Duet run run123\n")
    assert "Pirates vs ninjas?" in md
    assert "**Ada** (demo · duet-demo, temperature 0.7)" in md
    assert "> You are Bo, a ninja." in md
    for t in run.turns:
        assert t.bot_name in md
        assert t.content in md
    assert "### 3. Sam (person)" in md
    assert "> Be bold." in md  # thinking as a quote
    assert md.index("Arr, pirates win.") < md.index("Ninjas strike unseen.")


# --- files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("t.json", transcript_json),
        ("t.csv", lambda r: turns_csv([r])),
        ("t.jsonl", training_jsonl),
        ("t.md", transcript_markdown),
        ("T.JSON", transcript_json),
    ],
)
def test_export_run_picks_the_format_from_the_extension(run, tmp_path, name, render):
    path = tmp_path / name
    export_run(run, path)
    assert path.read_bytes() == render(run).encode("utf-8")


def test_export_run_csv_loads_back(run, tmp_path):
    export_run(run, tmp_path / "t.csv")
    df = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert df["content"].tolist() == [t.content for t in run.turns]


@pytest.mark.parametrize(("name", "suffix"), [("t.xlsx", ".xlsx"), ("t", ""), ("t.txt", ".txt")])
def test_export_run_refuses_an_unknown_extension(run, tmp_path, name, suffix):
    with pytest.raises(ConfigError) as e:
        export_run(run, tmp_path / name)
    assert str(e.value) == f"Unknown export format '{suffix}': use .json, .csv, .jsonl, .md or .pdf"
    assert not (tmp_path / name).exists()


def test_exports_module_is_pure():
    assert "streamlit" not in exports.__dict__ and "sqlalchemy" not in exports.__dict__


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bits=st.integers(min_value=0, max_value=(1 << 44) - 1))
def test_csv_of_any_new_run_loads_back_with_its_id_as_text(run, bits):
    """No dtype: a run id must come back as the same text as pandas reads it by default."""
    made = run.model_copy(update={"id": id_from("r", bits)})
    df = read_csv(turns_csv([made]))
    assert df["run_id"].tolist() == [made.id] * len(run.turns)
