"""PDF export: the text pdftotext reads back, markup in turns stays text, and --export/--out
write a PDF by extension."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from duet_core.exports import pdf
from duet_core.exports import transcript as exports
from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (Debian poppler-utils) not installed"
)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sample_run() -> Run:
    ada = BotConfig(name="Ada", model="duet-demo", temperature=0.7, system_prompt="A pirate.")
    bo = BotConfig(name="Bo", model="duet-demo", temperature=1.1, system_prompt="A ninja.")
    hotter = ada.model_copy(update={"temperature": 1.3})
    run = Run(
        id="pdfrun1",
        owner="alice",
        config=RunConfig(topic="Pirates vs ninjas: who wins?", max_turns=6, bots=[ada, bo]),
        status=RunStatus.COMPLETED,
        stop_reason="max_turns",
        created_at=T0,
        finished_at=T0 + timedelta(minutes=2),
    )

    def turn(i, b, name, text, cfg, **kw):
        start = T0 + timedelta(seconds=10 * i)
        return Turn(
            index=i,
            bot_index=b,
            bot_name=name,
            content=text,
            config=cfg,
            started_at=start,
            finished_at=start + timedelta(seconds=2),
            **kw,
        )

    run.turns = [
        turn(0, 0, "Ada", "Arr, pirates win.", ada, thinking="Be bold and brief.",
             input_tokens=12, output_tokens=5, ttft_ms=321.0, latency_ms=1500.0, cost_usd=0.0012),
        turn(1, 1, "Bo", "<b>Ninjas</b> strike <script>alert(1)</script> unseen & silent.", bo,
             input_tokens=20, output_tokens=9, ttft_ms=250.0, latency_ms=900.0),
        turn(2, None, "Sam", "Keep it friendly!", None, finish_reason="person"),
        turn(3, 0, "Ada", "Fine, matey: émojis 🚀 too.", hotter, output_tokens=7,
             finish_reason="length"),
    ]  # fmt: skip
    return run


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "run.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(done.stdout.split())  # words, whatever the line breaks


def test_pdf_has_bots_settings_changes_turns_thinking_and_metrics(tmp_path):
    data = pdf.transcript_pdf(sample_run())
    assert data.startswith(b"%PDF")
    text = pdf_text(data, tmp_path)
    for expected in (
        "Duet run pdfrun1",
        "Pirates vs ninjas: who wins?",
        "A pirate.",  # bots' settings
        "temperature 0.7 1.1",
        "1. Ada",
        "Thinking (folded)",
        "Be bold and brief.",
        "tokens 12 in / 5 out · TTFT 321 ms · latency 1.50 s · $0.0012",
        "Ada: temperature 0.7 → 1.3",  # the settings change before turn 4
        "3. Sam",
        "Keep it friendly!",
        "finish: length",
        "cost unknown",
        "<b>Ninjas</b> strike <script>alert(1)</script> unseen & silent.",  # text, not markup
    ):
        assert expected in text, expected


def test_markup_in_a_turn_is_escaped():
    html = pdf.transcript_html(sample_run())
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_export_run_writes_pdf_by_extension(tmp_path):
    path = tmp_path / "out.PDF"
    exports.export_run(sample_run(), path)
    assert path.read_bytes().startswith(b"%PDF")
    assert ".pdf" in exports.EXPORT_FORMATS


def test_command_line_export_and_run_write_pdf(tmp_path):
    from duet_core.cli import main as cli
    from duet_core.store import Store

    db = f"sqlite:///{tmp_path / 'duet.db'}"
    with Store(db) as store:
        store.create_run(sample_run())
    out = tmp_path / "x.pdf"
    assert cli.main(["export", "pdfrun1", "--out", str(out), "--db", db]) == 0
    assert "Pirates vs ninjas" in pdf_text(out.read_bytes(), tmp_path)
    run_pdf = tmp_path / "run.pdf"
    config = Path(__file__).parents[2] / "examples" / "demo.yaml"
    code = cli.main(["run", str(config), "--turns", "2", "--db", db, "--export", str(run_pdf)])
    assert code == 0 and run_pdf.read_bytes().startswith(b"%PDF")
