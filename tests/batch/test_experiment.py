"""The experiment file: read, checked and expanded into the right cells before anything runs;
every problem one line that names it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from duet_core.batch.estimate import estimate
from duet_core.batch.experiment import experiment_from_data, load_experiment
from duet_core.batch.paths import parse_path
from duet_core.catalog import load_prices
from duet_core.errors import ConfigError

BOTS = [
    {"name": "Ada", "provider": "openai", "model": "gpt-4.1-mini", "max_tokens": 100},
    {"name": "Bo", "provider": "openai", "model": "gpt-4.1-mini", "max_tokens": 100},
]


def spec(**changes):
    data = {"name": "sweep", "run": {"topic": "Base topic", "max_turns": 4, "bots": BOTS}}
    data.update(changes)
    return data


def test_grid_expands_topics_by_values_by_repeats_in_order():
    exp = experiment_from_data(
        spec(
            topics=["Ban cars?", "Tax meat?"],
            vary={"bots[1].model": ["gpt-4o-mini", "gpt-4.1"], "bots.0.temperature": [0.2, 1]},
            repeats=3,
        )
    )
    assert exp.runs == 2 * 2 * 2 * 3
    first, last = exp.cells[0], exp.cells[-1]
    assert first.values == {
        "topic": "Ban cars?",
        "bots[1].model": "gpt-4o-mini",
        "bots[0].temperature": 0.2,
        "repeat": 0,
    }
    assert last.values == {
        "topic": "Tax meat?",
        "bots[1].model": "gpt-4.1",
        "bots[0].temperature": 1,
        "repeat": 2,
    }
    seen = set()
    for cell in exp.cells:
        c = cell.config
        assert c.topic == cell.values["topic"]
        assert c.bots[1].model == cell.values["bots[1].model"]
        assert c.bots[0].temperature == cell.values["bots[0].temperature"]
        assert c.bots[0].model == "gpt-4.1-mini" and c.max_turns == 4  # the base stays
        seen.add((cell.key, cell.values["repeat"]))
    assert len(seen) == exp.runs  # every run its own (cell, repeat)
    assert len({cell.key for cell in exp.cells}) == 8
    assert [c.index for c in exp.cells] == list(range(exp.runs))


def test_without_topics_or_vary_one_cell_per_repeat():
    exp = experiment_from_data(spec(repeats=2))
    assert [c.values for c in exp.cells] == [{"repeat": 0}, {"repeat": 1}]
    assert exp.cells[0].config.topic == "Base topic"


def test_base_file_and_topics_files(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(
        yaml.safe_dump({"topic": "x", "max_turns": 2, "bots": BOTS})
    )
    (tmp_path / "topics.csv").write_text('topic,source\n"Ban cars, now?",a\nTax meat?,b\n')
    (tmp_path / "topics.jsonl").write_text('"One"\n\n{"topic": "Two", "id": 2}\n')
    (tmp_path / "exp.yaml").write_text(
        "name: from files\nbase: base.yaml\ntopics_file: topics.csv\nvary:\n  max_turns: [2, 3]\n"
    )
    exp = load_experiment(tmp_path / "exp.yaml")
    assert [c.config.topic for c in exp.cells] == ["Ban cars, now?"] * 2 + ["Tax meat?"] * 2
    assert exp.spec.run["max_turns"] == 2 and exp.spec.base is None  # stored self-contained
    assert exp.spec.topics == ["Ban cars, now?", "Tax meat?"]
    (tmp_path / "exp.json").write_text(
        json.dumps({"name": "j", "base": "base.yaml", "topics_file": "topics.jsonl"})
    )
    assert [c.config.topic for c in load_experiment(tmp_path / "exp.json").cells] == [
        "One",
        "Two",
    ]


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"vary": {"bots[1].modle": ["x"]}}, "unknown field 'bots[1].modle'"),
        ({"vary": {"bots[2].model": ["x"]}}, "two bots"),
        ({"vary": {"turns": [1]}}, "unknown field 'turns'"),
        ({"vary": {"max_turns.x": [1]}}, "no fields to vary"),
        ({"vary": {"bots[0].temperature": [0.5, 7]}}, "bots[0].temperature=7"),
        ({"vary": {"max_turns": ["six"]}}, "max_turns"),
        ({"vary": {"bots[1].model": []}}, "grid is empty"),
        ({"topics": []}, "grid is empty"),
        ({"topics": ["ok", "  "]}, "topics[1]"),
        ({"repeats": 0}, "repeats"),
        ({"concurrency": "8"}, "concurrency"),
        ({"budget_usd": -1}, "budget_usd"),
        ({"colour": "red"}, "colour"),
        ({"base": "other.yaml"}, "one way"),
        ({"vary": {"bots[1].model": ["a"] * 1000, "max_turns": list(range(1, 201))}}, "at most"),
        (
            {"vary": {"bots[0].provider": ["anthropic"], "bots[0].model": ["claude-haiku-5-5"]}},
            "temperature",
        ),
    ],
)
def test_bad_experiments_are_one_line_naming_the_problem(changes, words):
    data = spec(**changes)
    if words == "temperature":
        data["run"]["bots"] = [{**BOTS[0], "temperature": 0.5}, BOTS[1]]
    with pytest.raises(ConfigError) as e:
        experiment_from_data(data)
    assert words in e.value.message
    assert "\n" not in e.value.message


def test_topics_file_problems_name_the_line(tmp_path: Path):
    (tmp_path / "t.csv").write_text("subject\nx\n")
    (tmp_path / "u.csv").write_text("topic\nx\n\n,\n")
    (tmp_path / "v.jsonl").write_text('"a"\n{"title": "b"}\n')
    for name, words in (
        ("t.csv", "no 'topic' column"),
        ("u.csv", "line 3"),
        ("v.jsonl", "line 2"),
        ("none.csv", "Cannot read"),
        ("t.txt", "Cannot read"),
    ):
        with pytest.raises(ConfigError) as e:
            experiment_from_data(
                {"name": "n", "run": spec()["run"], "topics_file": name}, base_dir=tmp_path
            )
        assert words in e.value.message, (name, e.value.message)


def test_files_are_refused_without_a_folder():
    with pytest.raises(ConfigError, match="inline"):
        experiment_from_data({"name": "n", "base": "x.yaml"})


def test_parse_path_forms():
    assert parse_path("bots[1].model") == parse_path("bots.1.model") == ["bots", 1, "model"]
    assert parse_path("bots[0].prompt.version") == ["bots", 0, "prompt", "version"]
    with pytest.raises(ConfigError):
        parse_path("bots[x].model")


def test_estimate_counts_every_reply_at_max_tokens():
    exp = experiment_from_data(spec(repeats=2, vary={"max_turns": [2, 4]}))
    est = estimate(exp, load_prices(None))
    assert est.runs == 4 and est.turns == 2 * (2 + 4)
    assert est.output_tokens == 100 * est.turns
    # each turn reads the topic and every reply before it
    assert est.input_tokens > 100 * (1 + 2 + 3) * 2
    assert est.cost_usd > 0 and not est.unpriced
    demo = experiment_from_data(
        spec(run={"topic": "t", "max_turns": 3, "bots": [{"name": "A"}, {"name": "B"}]})
    )
    est = estimate(demo, load_prices(None))
    assert est.cost_usd == 0 and est.turns == 3
    assert "runs" in est.describe()
