"""Writers to one SQLite file in one process take turns: a write waits for another however long
that one takes, instead of failing with "database is locked" once SQLite's busy timeout runs
out (as it did with a hundred experiment runs saving turns at once)."""

from __future__ import annotations

import threading
from pathlib import Path

from duet_core.models import BotConfig, Run, RunConfig, Turn
from duet_core.store import Store, connect

# far past the (shortened) busy timeout: a write that still waits then is not timing out
WAIT_PAST_TIMEOUT = 1.0


def test_a_write_waits_for_another_past_the_busy_timeout(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(connect, "BUSY_TIMEOUT_MS", 50)
    url = f"sqlite:///{tmp_path / 'duet.db'}"
    holder, writer = Store(url), Store(url)  # two stores, as the app and a worker have
    try:
        run = Run(config=RunConfig(topic="t", bots=[BotConfig(name="A"), BotConfig(name="B")]))
        holder.create_run(run)
        holding, release = threading.Event(), threading.Event()

        def hold() -> None:
            with holder._write():
                holding.set()
                release.wait(30)

        outcome: list[BaseException | None] = []
        saved = threading.Event()

        def write() -> None:
            try:
                writer.save_turn(run.id, Turn(index=0, bot_index=0, bot_name="A", content="hi"))
                outcome.append(None)
            except BaseException as e:  # the test reports what it was
                outcome.append(e)
            saved.set()

        first = threading.Thread(target=hold)
        first.start()
        assert holding.wait(30)
        second = threading.Thread(target=write)
        second.start()
        # SQLite alone would fail the write after 50 ms; it must still be waiting
        assert not saved.wait(WAIT_PAST_TIMEOUT), f"the write ended early: {outcome}"
        release.set()
        assert saved.wait(30)
        first.join(30)
        second.join(30)
        assert outcome == [None]
        assert [t.content for t in writer.get_run(run.id).turns] == ["hi"]
    finally:
        holder.close()
        writer.close()
