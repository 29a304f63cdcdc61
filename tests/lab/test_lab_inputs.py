"""What the Lab accepts: --set edits, transcript files (with a clear message for bad ones),
fixtures, run access; and the labels the page shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from duet_core.errors import AccessDenied, ConfigError
from duet_core.exports.transcript import transcript_json
from duet_core.lab.edits import Edits, parse_sets
from duet_core.lab.sources import (
    list_fixtures,
    load_fixture,
    load_run,
    read_transcript,
    resolve,
)
from duet_core.models import BotConfig, PromptRef, Run, RunConfig, Turn
from duet_ui.lab.view import turn_label, variant_label

FIXTURES = Path(__file__).resolve().parents[2] / "examples" / "fixtures"
GPT = BotConfig(name="Gpt", provider="openai", model="gpt-4.1-mini", temperature=0.7)


def a_run(owner: str = "alice") -> Run:
    bots = [GPT, BotConfig(name="Bob", system_prompt="Be Bob.")]
    run = Run(owner=owner, config=RunConfig(topic="Tea?", bots=bots))
    run.turns = [Turn(index=0, bot_index=0, bot_name="Gpt", content="Yes.", config=GPT)]
    return run


# --- edits -------------------------------------------------------------------------------


def test_set_values_take_the_fields_types():
    edits = parse_sets(["temperature=1.3", "max_tokens=300", "top_p=none", "effort=none"])
    assert edits.fields == {"temperature": 1.3, "max_tokens": 300, "top_p": None, "effort": "none"}
    assert not edits.persona_changed
    assert parse_sets(["thinking_budget=off"]).fields == {"thinking_budget": 0}
    assert parse_sets(["system_prompt=a=b"]).fields == {"system_prompt": "a=b"}


def test_nothing_set_changes_nothing():
    assert not Edits() and Edits().apply(GPT) is GPT


def test_a_new_persona_source_replaces_the_old_one():
    templated = GPT.model_copy(update={"prompt": PromptRef(name="critic", version=1)})
    bot = parse_sets(["system_prompt=Be terse."]).apply(templated)
    assert (bot.system_prompt, bot.prompt) == ("Be terse.", None)
    bot = parse_sets(["prompt=critic@2", "var.mood=grumpy"]).apply(GPT)
    assert bot.prompt == PromptRef(name="critic", version=2, variables={"mood": "grumpy"})
    assert bot.system_prompt == ""
    with pytest.raises(ConfigError, match="not both system_prompt and prompt"):
        parse_sets(["system_prompt=x", "prompt=critic"]).apply(GPT)


def test_a_template_keeps_its_variables_unless_renamed():
    templated = GPT.model_copy(
        update={"prompt": PromptRef(name="critic", version=1, variables={"mood": "calm"})}
    )
    assert parse_sets(["prompt=critic@3"]).apply(templated).prompt.variables == {"mood": "calm"}
    assert parse_sets(["prompt=other"]).apply(templated).prompt.variables == {}
    assert parse_sets(["prompt=critic@latest"]).apply(templated).prompt.version is None


def test_another_provider_drops_the_knobs_it_does_not_take():
    bot = parse_sets(["provider=anthropic", "model=claude-sonnet-5-5"]).apply(GPT)
    assert bot.temperature is None and bot.provider == "anthropic"
    with pytest.raises(ConfigError, match="does not take temperature"):
        parse_sets(["provider=anthropic", "model=claude-sonnet-5-5", "temperature=1"]).apply(GPT)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("temperature", "write FIELD=VALUE"),
        ("temperature=warm", "temperature=warm: Input should be a valid number"),
        ("temperature=2.5", "less than or equal to 2"),
        ("name=Zed", "cannot be changed in the Lab"),
        ("api_key=sk-x", "Unknown setting 'api_key'"),
        ("prompt=bad name@2", "write prompt=NAME or prompt=NAME@VERSION"),
        ("var.1x=2", "a variable name is letters"),
        ("persona=not json", "persona= takes a JSON list"),
    ],
)
def test_bad_set_items_are_refused_with_a_message(item, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_sets([item])


def test_a_variable_needs_a_template():
    with pytest.raises(ConfigError, match="this bot has none"):
        parse_sets(["var.mood=x"]).apply(GPT)


# --- transcripts and fixtures --------------------------------------------------------------


def test_a_transcript_round_trips():
    run = a_run()
    loaded = read_transcript(transcript_json(run).encode())
    assert loaded.id == run.id and [t.content for t in loaded.turns] == ["Yes."]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[]", "list of 0 transcripts"),
        (b'"text"', "expected a JSON object"),
        (b'{"run": {}}', 'expected "schema": "duet.transcript/1"'),
        (b'{"schema": "duet.transcript/2"}', 'version "duet.transcript/2"'),
        (b'{"schema": "duet.transcript/1", "run": {}}', "Not a valid Duet transcript"),
    ],
)
def test_a_bad_transcript_gets_one_clear_message(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_transcript(data)


def test_a_transcript_without_bot_turns_is_refused():
    run = a_run()
    run.turns = []
    with pytest.raises(ConfigError, match="no bot turns"):
        read_transcript(transcript_json(run))


def test_fixtures_load_and_names_stay_inside_the_folder(tmp_path):
    assert len(list_fixtures(FIXTURES)) >= 3
    assert list_fixtures(tmp_path / "missing") == []
    source = load_fixture("speed-limit-openai-vs-claude.json", FIXTURES)
    assert source.kind == "fixture" and not source.saved
    assert any(t.thinking for t in source.run.turns)
    for name in ("../README.md", "/etc/passwd", "x.txt"):
        with pytest.raises(ConfigError, match="is not a fixture"):
            load_fixture(name, FIXTURES)
    with pytest.raises(ConfigError, match=re.escape("No fixture 'nope.json'")):
        load_fixture("nope.json", FIXTURES)


class Reader:
    def __init__(self, run: Run):
        self.run = run

    def get_run(self, run_id: str) -> Run | None:
        return self.run if run_id == self.run.id else None


def test_a_saved_run_only_for_its_owner_or_an_admin():
    run = a_run(owner="alice")
    assert load_run(Reader(run), run.id, "alice").saved
    assert load_run(Reader(run), run.id, "root", is_admin=True).run is run
    with pytest.raises(AccessDenied):
        load_run(Reader(run), run.id, "bob")
    with pytest.raises(ConfigError, match="is not a run id"):
        load_run(Reader(run), "../../x", "alice")


def test_the_command_line_source_is_a_file_or_a_run_id(tmp_path):
    run = a_run()
    path = tmp_path / "t.json"
    path.write_text(transcript_json(run), encoding="utf-8")
    assert resolve(str(path), None, "me").kind == "upload"
    assert resolve(run.id, Reader(run), "alice").kind == "run"
    assert resolve("cars-in-cities-demo.json", None, "me", directory=FIXTURES).kind == "fixture"
    with pytest.raises(ConfigError, match="No file"):
        resolve(str(tmp_path / "gone.json"), None, "me")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "duet.transcript/9"}))
    with pytest.raises(
        ConfigError, match=re.escape('bad.json: This transcript is version "duet.transcript/9"')
    ):
        resolve(str(bad), None, "me")


# --- labels --------------------------------------------------------------------------------


def test_labels():
    turn = Turn(index=1, bot_index=1, bot_name="Bob", content="  A long\nanswer " + "x" * 80)
    label = turn_label(turn)
    assert label.startswith("Turn 2 · Bob: A long answer x") and label.endswith("…")
    assert len(label) <= len("Turn 2 · Bob: ") + 48
    thinking = BotConfig(
        name="C",
        provider="anthropic",
        model="claude-sonnet-5-5",
        effort="high",
        thinking_budget=2048,
        max_tokens=4096,
    )
    assert (
        variant_label(0, thinking) == "Variant 1 · claude-sonnet-5-5 · effort high · thinking 2048"
    )
    assert variant_label(1, GPT) == "Variant 2 · gpt-4.1-mini · temperature 0.7"
