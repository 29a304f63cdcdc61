"""The command line's error boundary: every expected failure is one line on stderr and exit 2
(1 for a failed run), checked before any provider call; an unexpected error says what to
report, never a traceback. Mostly in-process through ``cli.main``; a few real subprocesses."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duet_core.cli import main as cli
from duet_core.cli import terminal as cli_terminal
from duet_core.errors import ConfigError
from duet_core.models import RunConfig
from duet_core.redact import MARK, register

ROOT = Path(__file__).resolve().parents[2]
DEMO = yaml.safe_load((ROOT / "examples" / "demo.yaml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DUET_LOG_LEVEL", "DUET_MAX_TURNS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DUET_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("DUET_DEMO_TOKENS_PER_SECOND", "0")
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("duet")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def duet(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv: str, code: int = 2) -> str:
    """Run; assert the exit code and one line on stderr with no traceback; return the line."""
    got, out, err = duet(capsys, *argv)
    assert got == code, (got, out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("duet: "), err
    assert "Traceback" not in out + err
    return lines[0]


def config_file(tmp_path: Path, data=None, name="c.yaml", encoding="utf-8", text=None) -> str:
    path = tmp_path / name
    if text is None:
        text = yaml.safe_dump(data or DEMO, allow_unicode=True)
    path.write_bytes(text.encode(encoding))
    return str(path)


def saved_runs(capsys) -> str:
    code, out, _ = duet(capsys, "runs")
    return out if code == 0 else ""


# --- config files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["deep.json", "deep.yaml"])
def test_deeply_nested_config(capsys, tmp_path, name):
    path = config_file(tmp_path, name=name, text="[" * 100_000 + "]" * 100_000)
    assert "nested" in refused(capsys, "run", path)


def test_deep_yaml_by_indentation(capsys, tmp_path):
    text = "".join(f"{' ' * i}a:\n" for i in range(3000)) + " " * 3000 + "a: 1\n"
    line = refused(capsys, "run", config_file(tmp_path, name="deep.yaml", text=text))
    assert "nested" in line or "YAML" in line


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_byte_order_marks_are_accepted(capsys, tmp_path, encoding):
    data = {**DEMO, "topic": "Café or tea — which wins?"}
    code, out, err = duet(
        capsys, "run", config_file(tmp_path, data, encoding=encoding), "--turns", "1"
    )
    assert code == 0, err
    assert "Café or tea — which wins?" in out


def test_latin1_is_refused_with_the_odd_byte(capsys, tmp_path):
    bots = [{**b, "avatar": "A"} for b in DEMO["bots"]]  # Latin-1 has no emoji
    data = {**DEMO, "topic": "Café?", "bots": bots}
    line = refused(capsys, "run", config_file(tmp_path, data, encoding="latin-1"))
    assert "not UTF-8" in line and "0xE9" in line and "save it as UTF-8" in line


@pytest.mark.parametrize("value", ["yes", "2.5", "'3'", "true"])
def test_max_turns_must_be_a_whole_number(capsys, tmp_path, value):
    text = (ROOT / "examples" / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("max_turns: 6", f"max_turns: {value}")
    line = refused(capsys, "run", config_file(tmp_path, text=text))
    assert "max_turns" in line and "integer" in line
    assert saved_runs(capsys).count("\n") <= 1  # nothing ran


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_temperature_not_a_number(capsys, tmp_path, value):
    text = (ROOT / "examples" / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("temperature: 0.7", f"temperature: {value}")
    line = refused(capsys, "run", config_file(tmp_path, text=text))
    assert "temperature" in line and "finite number" in line
    assert "less than or equal" not in line


def test_nan_in_json(capsys, tmp_path):
    data = json.loads(json.dumps(DEMO))
    data["bots"][0]["temperature"] = math.nan
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), encoding="utf-8")  # json writes NaN
    assert "finite number" in refused(capsys, "run", str(path))


def test_missing_and_unreadable_config(capsys, tmp_path):
    assert "Cannot read" in refused(capsys, "run", str(tmp_path / "nope.yaml"))
    assert "Cannot read" in refused(capsys, "run", str(tmp_path))


# --- strict validation, property-based -----------------------------------------------------

not_an_int = st.one_of(
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True).filter(
        lambda f: f != int(f) if math.isfinite(f) else True
    ),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.none(),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=not_an_int, field=st.sampled_from(["max_turns", "first_speaker", "max_total_tokens"]))
def test_integer_fields_take_only_integers(value, field):
    data = {**DEMO, field: value}
    if field == "max_total_tokens" and value is None:
        return  # optional: None is allowed
    for text, as_yaml in ((yaml.safe_dump(data), True), (json.dumps(data), False)):
        with pytest.raises(ConfigError) as e:
            RunConfig.from_text(text, yaml_format=as_yaml)
        assert field in str(e.value)


@settings(max_examples=60, deadline=None)
@given(
    temperature=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.text(max_size=4)
    )
)
def test_temperature_is_a_finite_number_in_range_or_refused(temperature):
    data = json.loads(json.dumps(DEMO))
    data["bots"][0]["temperature"] = temperature
    ok = (
        isinstance(temperature, float)
        and not isinstance(temperature, bool)
        and math.isfinite(temperature)
        and 0 <= temperature <= 2
    )
    text = json.dumps(data)  # NaN and Infinity as JSON writes them
    if ok:
        assert RunConfig.from_text(text).bots[0].temperature == temperature
    else:
        with pytest.raises(ConfigError) as e:
            RunConfig.from_text(text)
        message = str(e.value)
        assert "bots.0.temperature" in message
        if isinstance(temperature, float) and not math.isfinite(temperature):
            assert "finite number" in message


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=300), as_yaml=st.booleans())
def test_any_text_loads_or_gives_one_config_error(text, as_yaml):
    try:
        RunConfig.from_text(text, yaml_format=as_yaml)
    except ConfigError as e:
        assert "\n" not in str(e).strip() or as_yaml  # YAML messages are cut to one line too
        assert str(e).strip()


# --- export destinations: checked before any provider call ----------------------------------


def test_export_into_a_file_path_is_refused_before_the_run(capsys, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    demo = str(ROOT / "examples" / "demo.yaml")
    line = refused(capsys, "run", demo, "--export", str(plain / "x.csv"))
    assert "is a file, not a folder" in line
    assert "Run " not in capsys.readouterr().out
    line = refused(capsys, "run", demo, "--export", "/proc/duet-test.csv")
    assert "Cannot write /proc/duet-test.csv" in line
    line = refused(capsys, "run", demo, "--export", str(tmp_path / "missing" / "x.md"))
    assert "does not exist" in line
    (tmp_path / "folder.csv").mkdir()
    line = refused(capsys, "run", demo, "--export", str(tmp_path / "folder.csv"))
    assert "it is a folder" in line
    line = refused(capsys, "run", demo, "--export", str(tmp_path / "x.docx"))
    assert "Unknown export format" in line
    assert not (tmp_path / "cli.db").exists()  # refused before even the database was opened


def test_export_out_into_a_file_path(capsys, tmp_path):
    code, out, err = duet(capsys, "run", str(ROOT / "examples/demo.yaml"), "--turns", "1")
    assert code == 0, err
    run_id = out.split()[1].rstrip(":")
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    assert "is a file" in refused(capsys, "export", run_id, "--out", str(plain / "x.csv"))
    assert "No run with id" in refused(capsys, "export", "nope", "--out", "x.csv")


def test_spreadsheet_safe_csv(capsys, tmp_path):
    from duet_core.models import Run, Turn
    from duet_core.store import Store

    db = tmp_path / "cli.db"
    with Store(f"sqlite:///{db}") as store:
        run = Run(config=RunConfig.model_validate(DEMO), owner="me")
        store.create_run(run)
        store.save_turn(run.id, Turn(index=0, bot_index=0, bot_name="Ada", content="=1+2"))
    for safe in (False, True):
        target = tmp_path / f"out{safe}.csv"
        args = ["export", run.id, "--out", str(target)] + (["--spreadsheet-safe"] * safe)
        code, _, err = duet(capsys, *args)
        assert code == 0, err
        row = next(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
        assert row["content"] == ("'=1+2" if safe else "=1+2")
    line = refused(capsys, "export", run.id, "--out", str(tmp_path / "a.md"), "--spreadsheet-safe")
    assert ".csv" in line


# --- databases ---------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_database_urls(capsys, tmp_path, monkeypatch):
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    cases = {
        "this is not a url": "Not a database URL",
        "mysql://u:secretpw@localhost/duet": "driver",
        f"postgresql://u@127.0.0.1:{closed_port()}/duet": "Cannot open the database",
        f"sqlite:///{plain}/x.db": "is a file, not a folder",
    }
    for url, expected in cases.items():
        for argv in (["runs", "--db", url], ["run", str(ROOT / "examples/demo.yaml"), "--db", url]):
            line = refused(capsys, *argv)
            assert expected in line or (argv[0] == "runs" and "No database at" in line), line
            assert "secretpw" not in line
        monkeypatch.setenv("DUET_DATABASE_URL", url)
        line = refused(capsys, "runs")
        assert expected in line or "No database at" in line, line
        monkeypatch.delenv("DUET_DATABASE_URL")


def test_a_missing_sqlite_file_is_not_created_by_runs_or_export(capsys, tmp_path):
    typo = tmp_path / "dtaa" / "duet.db"
    line = refused(capsys, "runs", "--db", f"sqlite:///{typo}")
    assert "No database at" in line
    line = refused(capsys, "export", "abc", "--out", "x.json", "--db", f"sqlite:///{typo}")
    assert "No database at" in line
    assert not typo.parent.exists()


@pytest.mark.parametrize("limit", ["0", "-3", "many"])
def test_runs_limit(capsys, limit):
    assert "--limit" in refused(capsys, "runs", "--limit", limit)


def test_turns_option(capsys):
    demo = str(ROOT / "examples/demo.yaml")
    for value in ("0", "2.5", "lots"):
        assert "--turns" in refused(capsys, "run", demo, "--turns", value)


def test_stop_condition_options(capsys, tmp_path):
    demo = str(ROOT / "examples/demo.yaml")
    assert "max_seconds" in refused(capsys, "run", demo, "--max-seconds", "0")
    assert "--max-seconds" in refused(capsys, "run", demo, "--max-seconds", "soon")
    assert "loop_window" in refused(capsys, "run", demo, "--loop-window", "-1")
    code, out, err = duet(
        capsys, "run", demo, "--turns", "1", "--max-seconds", "600", "--loop-window", "3"
    )
    assert code == 0, err
    from duet_core.store import Store

    with Store(f"sqlite:///{tmp_path / 'cli.db'}") as store:
        config = store.get_run(out.split()[1].rstrip(":")).config
    assert (config.max_seconds, config.loop_window) == (600.0, 3)


# --- environment and settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value",
    [
        ("DUET_MAX_TURNS", "lots"),
        ("DUET_MAX_TURNS", "0"),
        ("DUET_REQUEST_TIMEOUT", "-1"),
        ("DUET_LOG_LEVEL", "LOUD"),
        ("DUET_PRICES_FILE", "/nonexistent/prices.json"),
    ],
)
def test_bad_environment_values(capsys, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    line = refused(capsys, "run", str(ROOT / "examples/demo.yaml"), "--turns", "1")
    short = name.removeprefix("DUET_").lower()
    assert short in line.lower() or value in line, line


# --- failures of a run, and unexpected ones -----------------------------------------------------


def test_a_failed_run_reports_on_stderr(capsys):
    code, out, err = duet(
        capsys, "run", str(ROOT / "examples/openai-vs-claude.json"), "--turns", "1"
    )
    assert code == 1
    assert "OPENAI_API_KEY" in err and "OPENAI_API_KEY" not in out
    assert "[error: error]" in out


def test_unexpected_error_says_what_to_report(capsys, monkeypatch):
    def broken(*_):
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(cli.COMMANDS, "runs", broken)
    line = refused(capsys, "runs", code=1)
    assert "unexpected error (ZeroDivisionError: boom)" in line and "report" in line
    _, _, err = duet(capsys, "--verbose", "runs")
    assert "Traceback" in err and "boom" in err  # asked for: the details, as a JSON log line


def test_logs_stay_off_the_terminal_unless_verbose(capsys):
    demo = str(ROOT / "examples/demo.yaml")
    code, out, err = duet(capsys, "run", demo, "--turns", "2")
    assert code == 0 and err == ""
    assert "provider call" not in out
    code, out, err = duet(capsys, "run", demo, "--turns", "2", "--verbose")
    lines = [json.loads(line) for line in err.splitlines()]
    assert sum(line["message"] == "provider call" for line in lines) == 2


def test_log_file(capsys, tmp_path):
    target = tmp_path / "duet.log"
    code, _, err = duet(
        capsys, "--log-file", str(target), "run", str(ROOT / "examples/demo.yaml"), "--turns", "1"
    )
    assert code == 0 and err == ""
    assert any(json.loads(x)["message"] == "provider call" for x in target.read_text().splitlines())


# --- redaction in the terminal ------------------------------------------------------------------

KEY = "sk-proj-TESTKEY0123456789abcdefXYZ"


@settings(max_examples=80, deadline=None)
@given(
    before=st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    after=st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6),
    bearer=st.booleans(),
)
def test_a_key_split_across_stream_chunks_never_reaches_the_terminal(before, after, cuts, bearer):
    secret = "QWERTYuiop1234567890asdfgh"  # not key-shaped: caught because it is registered
    register(secret)
    for key in (KEY, secret):
        word = f"Bearer {key}" if bearer else key
        text = f"{before} {word} {after}"
        out = io.StringIO()
        terminal = cli_terminal.RedactingOut(out)
        last = 0
        for cut in sorted(c % (len(text) + 1) for c in cuts):
            terminal.write(text[last:cut])
            last = cut
        terminal.write(text[last:])
        terminal.close()
        shown = out.getvalue()
        assert key not in shown and MARK in shown


def test_subprocess_boundary_has_no_traceback(tmp_path):
    """The real entry point, as a user runs it."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_turns: yes\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "duet_core", "run", str(bad)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("duet: ")


def test_sigterm_stops_the_run_instead_of_leaving_it_running(tmp_path):
    import os
    import signal

    from duet_core.store import RunQuery, Store

    db = f"sqlite:///{tmp_path / 'term.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUET_DATABASE_URL": db}
    env["DUET_DEMO_TOKENS_PER_SECOND"] = "5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "duet_core", "run", str(ROOT / "examples/demo.yaml")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()  # "Run <id>: topic": the run is going
        assert first.startswith("Run "), proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    with Store(db) as store:
        (run,) = store.list_runs(RunQuery()).items
    assert run.status.value == "stopped"
