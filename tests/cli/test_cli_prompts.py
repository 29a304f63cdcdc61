"""``python -m duet_core prompts ...`` exactly as docs/design.md: outputs, --json shapes, exit 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from duet_core.cli.main import main

TEMPLATE_YAML = """\
- role: system
  content: You are {{ my_name }}, {{ style }}.
- role: human
  content: "Example: {{ n }}"
- role: ai
  content: Sure.
"""


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'duet.db'}"


@pytest.fixture
def files(tmp_path):
    yaml_file = tmp_path / "debater.yaml"
    yaml_file.write_text(TEMPLATE_YAML, encoding="utf-8")
    json_file = tmp_path / "v2.json"
    json_file.write_text(
        json.dumps({"messages": [{"role": "system", "content": "Be {{ style }}, {{ my_name }}."}]})
    )
    return yaml_file, json_file


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_save_then_unchanged_then_next_version(db, files):
    yaml_file, json_file = files
    assert run("prompts", "save", "debater", str(yaml_file), "--note", "first", "--db", db) == (
        0,
        "debater v1 saved\n",
    )
    assert run("prompts", "save", "debater", str(yaml_file), "--db", db) == (
        0,
        "debater v1 unchanged\n",
    )
    assert run("prompts", "save", "debater", str(json_file), "--db", db) == (
        0,
        "debater v2 saved\n",
    )


def test_list(db, files):
    run("prompts", "save", "debater", str(files[0]), "--note", "first", "--db", db)
    run("prompts", "save", "critic", str(files[1]), "--db", db)
    code, text = run("prompts", "list", "--db", db)
    assert code == 0
    lines = text.splitlines()
    assert lines[0].split() == ["name", "latest", "saved", "author", "note"]
    assert lines[1].startswith("critic") and lines[2].startswith("debater")
    assert "v1" in lines[2] and lines[2].endswith("first")
    code, text = run("prompts", "list", "--json", "--db", db)
    assert [d["name"] for d in json.loads(text)] == ["critic", "debater"]


def test_show_json_shape(db, files):
    run("prompts", "save", "debater", str(files[0]), "--note", "first", "--db", db)
    run("prompts", "save", "debater", str(files[1]), "--note", "second", "--db", db)
    code, text = run("prompts", "show", "debater", "--version", "1", "--json", "--db", db)
    doc = json.loads(text)
    assert code == 0
    assert list(doc) == ["name", "version", "messages", "note", "author", "created_at"]
    assert doc["version"] == 1 and doc["note"] == "first"
    assert doc["messages"][2] == {"role": "ai", "content": "Sure."}
    assert doc["created_at"].endswith("+00:00")
    code, text = run("prompts", "show", "debater", "--db", db)
    assert text.startswith("debater v2 · ") and "[system]\nBe {{ style }}, {{ my_name }}." in text


def test_render_json_with_vars_and_vars_file(db, files, tmp_path, capsys):
    run("prompts", "save", "debater", str(files[0]), "--db", db)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"n": [1, 2], "style": 3}))
    code, text = run(
        "prompts", "render", "debater", "--vars-file", str(vars_file),
        "--var", "style=terse", "--json", "--db", db,
    )  # fmt: skip
    assert code == 0
    assert json.loads(text) == {
        "messages": [
            {"role": "system", "content": "You are , terse."},
            {"role": "human", "content": "Example: [1, 2]"},
            {"role": "ai", "content": "Sure."},
        ],
        "missing": ["my_name"],
    }
    code, text = run("prompts", "render", "debater", "--var", "my_name=Ada", "--db", db)
    assert code == 0 and text.startswith("[system]\nYou are Ada, .\n")
    assert "no value for style, n" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["prompts", "render", "debater", "--var", "novalue"], "write KEY=VALUE"),
        (["prompts", "show", "nope"], "No saved template named 'nope'"),
        (["prompts", "show", "debater", "--version", "9"], "no version 9"),
        (["prompts", "show", "debater", "--version", "zero"], "not a version number"),
        (["prompts", "save", "bad name", "FILE"], "Template name"),
        (["prompts", "save", "x", "missing.json"], "Cannot read missing.json"),
        (["prompts", "save", "x", "t.txt"], ".json, .yaml or .yml"),
        (["prompts", "save", "x", "BAD"], "malformed placeholder '{{ name'"),
        (["prompts", "save", "x", "BROKEN"], "not valid JSON"),
        (["prompts", "render", "debater", "--vars-file", "LIST"], "give a JSON object"),
        (["prompts"], "required"),
    ],
)
def test_bad_input_exits_2_with_one_line(db, files, tmp_path, capsys, argv, needle):
    run("prompts", "save", "debater", str(files[0]), "--db", db)
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    bad.write_text('[{"role": "system", "content": "Hi {{ name"}]')
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    as_list = tmp_path / "list.json"
    as_list.write_text("[1]")
    swap = {"FILE": str(files[0]), "BAD": str(bad), "BROKEN": str(broken), "LIST": str(as_list)}
    argv = [swap.get(a, a) for a in argv]
    code, _ = run(*argv, "--db", db) if len(argv) > 1 else run(*argv)
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_reading_commands_refuse_a_missing_database(tmp_path, capsys):
    code, _ = run("prompts", "list", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 2 and "No database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_as_a_real_process(db, files):
    result = subprocess.run(
        [sys.executable, "-m", "duet_core", "prompts", "save", "p", str(files[0]), "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "p v1 saved\n")
