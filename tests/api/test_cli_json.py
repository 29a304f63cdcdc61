"""``python -m duet_core run CONFIG --json`` prints the API stream's event objects."""

from __future__ import annotations

import io
import json

from duet_core.cli.main import main


def test_run_json_prints_the_stream_objects(tmp_path, monkeypatch):
    monkeypatch.setenv("DUET_DEMO_TOKENS_PER_SECOND", "0")
    config = tmp_path / "run.json"
    config.write_text(
        json.dumps({"topic": "Tea?", "max_turns": 3, "bots": [{"name": "A"}, {"name": "B"}]})
    )
    out = io.StringIO()
    db = f"sqlite:///{tmp_path / 'duet.db'}"
    assert main(["run", str(config), "--json", "--db", db], out=out) == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "snapshot" and types[-2:] == ["status", "end"]
    assert events[0]["transcript"]["schema"] == "duet.transcript/1"
    assert events[-2]["status"] == "completed"
    done = {e["turn"]: e for e in events if e["type"] == "turn_complete"}
    assert sorted(done) == [0, 1, 2]
    for turn in {e["turn"] for e in events if e["type"] == "turn_start"}:
        tokens = "".join(e["delta"] for e in events if e["type"] == "token" and e["turn"] == turn)
        assert tokens == done[turn]["content"]
