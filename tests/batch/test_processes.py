"""Experiments in real processes (``python -m duet_core batch ...`` and ``worker``) against the
fake OpenAI server: a grid runs with its cells' settings (checked at the server) and exports as
a dataset pandas and Hugging Face ``datasets`` load; bad files exit 2 with one line before
anything is saved; on PostgreSQL two workers share an experiment, one is killed with SIGKILL
mid-run (the other then stops with SIGTERM, handing its runs over), a third finishes the rest,
and every run and turn is in the database exactly once."""

from __future__ import annotations

import json
import re
import signal
from collections import Counter

import pandas as pd
import pytest
from sqlalchemy import func, select

from duet_core.cli.main import main
from duet_core.store import Store
from duet_core.store.experiments import ExperimentQueue
from duet_core.store.schema import runs
from tests.batch.conftest import (
    LLMServer,
    cli_env,
    duet,
    first_line,
    openai_bots,
    start_duet,
    write_experiment,
)
from tests.waiting import wait_for

GRID = {
    "name": "cars sweep",
    "run": {"topic": "t", "max_turns": 2, "bots": openai_bots()},
    "topics": ["Ban cars?", "Tax meat?"],
    "vary": {"bots[1].model": ["gpt-4o-mini", "gpt-4.1"], "bots[0].temperature": [0.2, 0.9]},
    "repeats": 1,
}


def test_batch_run_runs_every_cell_and_exports_a_dataset(db_url, llm: LLMServer, tmp_path):
    file = write_experiment(tmp_path / "sweep.json", GRID)
    env = cli_env(db_url, llm)
    r = duet(env, "batch", "run", str(file), "--concurrency", "4")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Estimate: 8 runs, 16 turns; at most")
    exp_id = re.search(r"Experiment (x[0-9a-f]+): 8 runs queued", r.stdout).group(1)
    assert "8 done, 0 failed" in lines[-1]

    # at the server: each request with its cell's topic, model and temperature
    seen = Counter()
    for request in llm.chat_requests():
        body = request.body
        topic = body["messages"][0]["content"].split("\n\n")[0]
        seen[(topic, body["model"], body.get("temperature"))] += 1
    expected = Counter()
    for topic in GRID["topics"]:
        for model in GRID["vary"]["bots[1].model"]:
            for temperature in GRID["vary"]["bots[0].temperature"]:
                expected[(topic, "gpt-4.1-mini", temperature)] += 1
                expected[(topic, model, None)] += 1
    assert seen == expected

    status = duet(env, "batch", "status", exp_id, "--json")
    assert status.returncode == 0, status.stderr
    got = json.loads(status.stdout)
    assert {k: got[k] for k in ("id", "name", "runs", "queued", "running", "done", "failed")} == {
        "id": exp_id,
        "name": "cars sweep",
        "runs": 8,
        "queued": 0,
        "running": 0,
        "done": 8,
        "failed": 0,
    }
    assert got["cost_usd"] > 0  # gpt-4.1-mini is priced

    for name in ("d.jsonl", "d.parquet", "d.csv"):
        r = duet(env, "batch", "export", exp_id, "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
    with Store(db_url) as store:
        saved = {i: store.get_run(i) for i in ExperimentQueue(store).run_ids(exp_id)}

    table = pd.read_parquet(tmp_path / "d.parquet")
    assert len(table) == 8 and set(table["run_id"]) == set(saved)
    for row in table.itertuples():
        run = saved[row.run_id]
        assert row.topic == run.config.topic and row.repeat == 0
        assert row._3 == run.experiment_cell["bots[1].model"]  # bots[1].model
        assert [m["content"] for m in row.messages] == [run.config.topic] + [
            t.content for t in run.turns
        ]
        assert row.turns == 2 and row.status == "completed"
    assert list(table.columns[2:5]) == ["bots[1].model", "bots[0].temperature", "repeat"]

    lines = (tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 8 and first["messages"][0] == {
        "role": "user",
        "content": "Ban cars?",
        "name": "topic",
    }
    assert [m["name"] for m in first["messages"][1:]] == ["Ada", "Bo"]
    meta = first["metadata"]
    assert meta["experiment"] == exp_id and meta["cell"]["topic"] == "Ban cars?"
    assert meta["bots"][1]["model"] == meta["cell"]["bots[1].model"]

    turns = pd.read_csv(tmp_path / "d.csv")
    assert len(turns) == 16
    by_run = turns.groupby("run_id")["content"].apply(list).to_dict()
    assert by_run == {i: [t.content for t in run.turns] for i, run in saved.items()}

    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "d.parquet"), split="train")
    assert ds.num_rows == 8 and ds[0]["messages"][0]["name"] == "topic"
    chat = datasets.load_dataset("json", data_files=str(tmp_path / "d.jsonl"), split="train")
    assert chat.num_rows == 8 and chat[0]["metadata"]["run_id"] in saved


BAD = [
    ({"vary": {"bots[1].modle": ["x"]}}, "unknown field 'bots[1].modle'"),
    ({"vary": {"bots[0].temperature": [0.5, 9]}}, "bots[0].temperature=9"),
    ({"vary": {"bots[1].model": []}}, "grid is empty"),
    ({"topics_file": "missing.csv", "topics": None}, "Cannot read topics_file"),
    ({"repeats": "three"}, "repeats"),
]


@pytest.mark.parametrize(("change", "words"), BAD)
def test_bad_experiment_files_exit_2_with_one_line(change, words, tmp_path, capsys):
    data = {**GRID, **change}
    data = {k: v for k, v in data.items() if v is not None}
    file = write_experiment(tmp_path / "bad.json", data)
    db = tmp_path / "never.db"
    assert main(["batch", "run", str(file), "--db", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("duet: ") and words in err, err
    assert not db.exists()  # checked before anything was saved


def test_bad_input_in_a_real_process(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "name: x\nrun: {topic: t, bots: [{}, {}]}\ntopics: [Ban cars?]\n"
    )
    env = cli_env(f"sqlite:///{tmp_path / 'd.db'}")
    r = duet(env, "batch", "run", str(tmp_path / "bad.yaml"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "put text that has ?" in r.stderr
    r = duet(env, "batch", "run", str(tmp_path / "bad.yaml"), "--budget-usd", "-1")
    assert r.returncode == 2 and "must be more than 0" in r.stderr
    r = duet(env, "batch", "status", "xnothere", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert r.returncode == 2 and r.stderr.count("\n") == 1


@pytest.mark.postgres
def test_two_workers_share_one_experiment_one_killed_a_third_finishes(
    pg_server, llm: LLMServer, tmp_path
):
    name = pg_server.create_database()
    db = pg_server.url_for(name)
    procs = []
    try:
        llm.words, llm.delay = 10, 0.04  # about 0.4 s a turn
        spec = {
            "name": "shared",
            "run": {"topic": "t", "max_turns": 4, "bots": openai_bots()},
            "topics": [f"topic {i}" for i in range(12)],
            "concurrency": 6,
        }
        env = cli_env(db, llm, DUET_LEASE_SECONDS="2")
        r = duet(env, "batch", "submit", str(write_experiment(tmp_path / "e.json", spec)))
        assert r.returncode == 0, r.stderr
        exp_id = r.stdout.strip()

        a = start_duet(env, "worker", "--max-runs", "3")
        b = start_duet(env, "worker", "--max-runs", "3", "--until-idle")
        procs += [a, b]
        owner_a = first_line(a).split()[1].rstrip(":")
        owner_b = first_line(b).split()[1].rstrip(":")
        store = Store(db)

        def rows():
            with store._read() as conn:
                return conn.execute(select(runs).where(runs.c.experiment_id == exp_id)).all()

        def a_mid_run():
            held = [r for r in rows() if r.lease_owner == owner_a and r.status == "running"]
            if any(1 <= r.turn_count < 4 for r in held):
                return held
            return None

        wait_for(
            lambda: {r.lease_owner for r in rows() if r.status == "running"} >= {owner_a, owner_b},
            timeout=60,
            what="both workers running runs",
        )
        held = wait_for(a_mid_run, timeout=60, what="worker a mid-run")
        a.kill()  # SIGKILL: no chance to save anything more
        a.wait(10)
        held_ids = {r.id for r in rows() if r.lease_owner == owner_a and r.status == "running"}
        assert held_ids and {r.id for r in held} <= held_ids | {
            r.id for r in rows() if r.status == "completed"
        }

        b.send_signal(signal.SIGTERM)  # b stops too, handing its runs over at once
        assert b.wait(60) == 130, b.stderr.read()[-2000:]
        left = {r.id for r in rows() if r.status != "completed"}
        assert held_ids <= left and {r.status for r in rows() if r.id in left} <= {
            "running",  # a's, until their leases expire
            "interrupted",  # b's
            "queued",
        }

        c = start_duet(env, "worker", "--max-runs", "3", "--until-idle")
        procs.append(c)
        owner_c = first_line(c).split()[1].rstrip(":")
        c.wait(180)
        assert c.returncode == 0, c.stderr.read()[-2000:]

        final = rows()
        assert len(final) == 12  # each run saved once
        assert {r.status for r in final} == {"completed"}
        assert all(r.turn_count == 4 for r in final)
        with store._read() as conn:
            from duet_core.store.schema import turns

            per_run = conn.execute(
                select(
                    turns.c.run_id, func.count(), func.min(turns.c.index), func.max(turns.c.index)
                )
                .where(turns.c.run_id.in_([r.id for r in final]))
                .group_by(turns.c.run_id)
            ).all()
        assert {(n, lo, hi) for _, n, lo, hi in per_run} == {(4, 0, 3)}  # each turn once
        assert {r.lease_owner for r in final if r.id in left} == {owner_c}  # c finished the rest
        # every request but those cut by the kill made a saved turn
        sent = len(llm.chat_requests())
        assert 12 * 4 <= sent <= 12 * 4 + len(held_ids)
        status = json.loads(duet(env, "batch", "status", exp_id, "--json").stdout)
        assert (status["done"], status["queued"], status["running"]) == (12, 0, 0)
        store.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        pg_server.drop_database(name)
