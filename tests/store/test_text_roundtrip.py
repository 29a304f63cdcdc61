"""Any text a model or a person writes is kept, on SQLite and PostgreSQL alike.

PostgreSQL cannot store NUL in text, so NUL is dropped from every stored text on both
databases (one rule); everything else round-trips exactly. A database failure never puts the
SQL statement or its values into the error a person sees or that is stored.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn
from duet_core.store.store import StoreError

texts = st.text(st.characters(codec="utf-8"), max_size=200)
with_nul = st.lists(texts, min_size=1, max_size=4).map("\x00".join)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=with_nul, thinking=texts, topic=with_nul)
def test_text_round_trips_without_nul(store, make_run, content, thinking, topic):
    run = make_run(topic="t")
    run.config = run.config.model_copy(update={"topic": topic or "x"})
    store.create_run(run)
    store.save_turn(
        run.id, Turn(index=0, bot_index=0, bot_name="Ada", content=content, thinking=thinking)
    )
    got = store.get_run(run.id)
    assert got.turns[0].content == content.replace("\x00", "")
    assert got.turns[0].thinking == thinking.replace("\x00", "")
    summary = next(r for r in store.list_runs().items if r.id == run.id)
    assert summary.topic == (topic or "x").replace("\x00", "")


def test_nul_everywhere_a_run_keeps_text(store):
    bots = [
        BotConfig(name="A\x00da", system_prompt="be \x00 brief"),
        BotConfig(name="Bob"),
    ]
    run = Run(owner="al\x00ice", config=RunConfig(topic="NUL \x00 topic", bots=bots))
    store.create_run(run)
    store.save_turn(run.id, Turn(index=0, bot_index=0, bot_name="A\x00da", content="a\x00b"))
    store.set_status(run.id, RunStatus.ERROR, "error", "bad \x00 byte")
    got = store.get_run(run.id)
    assert got.turns[0].content == "ab" and got.config.topic == "NUL  topic"
    assert got.error == "bad  byte" and got.config.bots[0].system_prompt == "be  brief"
    listed = store.list_runs().items[0]
    assert listed.topic == "NUL  topic" and listed.bots[0].name == "Ada"


def test_a_failed_write_names_no_sql_and_no_values(store, make_run):
    run = make_run()
    store.create_run(run)
    reply = "a private reply that must not leak"
    turn = Turn(index=0, bot_index=0, bot_name="x" * 500, content=reply)
    if store.dialect == "sqlite":  # SQLite stores any length: break the write another way
        with store._write() as conn:
            conn.exec_driver_sql("ALTER TABLE turns RENAME TO turns_gone")
    with pytest.raises(StoreError) as e:
        store.save_turn(run.id, turn)
    message = str(e.value)
    assert message.startswith("The database failed")
    for leak in (reply, "INSERT", "[SQL", "parameters", "xxxxxxxx"):
        assert leak not in message, message


def test_a_duplicate_names_no_sql(store, make_run):
    run = make_run(topic="a secret topic")
    store.create_run(run)
    with pytest.raises(ValueError) as e:
        store.create_run(run)
    assert "a secret topic" not in str(e.value) and "INSERT" not in str(e.value)


def test_a_reply_with_nul_is_kept_through_the_engine(store):
    from duet_core.providers.scripted import ScriptedProvider
    from duet_core.run.manager import RunManager
    from duet_core.settings import Settings

    provider = ScriptedProvider().enqueue("before\x00after", "second")
    manager = RunManager(store, Settings(_env_file=None), lambda bot, keys: provider)
    bots = [BotConfig(name="Ada"), BotConfig(name="Bob")]
    live = manager.start(RunConfig(topic="NUL\x00 topic", max_turns=2, bots=bots), "alice")
    assert live.join(30)
    saved = store.get_run(live.id)
    assert saved.status is RunStatus.COMPLETED, saved.error
    assert [t.content for t in saved.turns] == ["beforeafter", "second"]
