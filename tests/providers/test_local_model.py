"""The ``local`` provider with the real model: SmolLM2-135M-Instruct served by llama.cpp's server
(llama-cpp-python[server]) in a child process, over HTTP.

An optional extra (``make local``): skipped with the reason where it is not installed, and
required where DUET_REQUIRE_LOCAL_MODEL=1 (CI). test_local_server.py covers the same paths
against a fake server everywhere.
"""

from __future__ import annotations

import os
import signal
import time

import httpx2
import pytest

from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers import offline_provider, provider_available
from duet_core.providers.base import Finish, TextDelta, Usage
from duet_core.providers.local import chat_text, local_model_status, local_provider
from duet_core.providers.local_server import LocalModelStopped
from duet_core.providers.scripted import Hold, ScriptedProvider
from duet_core.run.engine import LiveRun
from duet_core.run.events import TextDelta as TextEvent
from duet_core.run.events import TurnFinished
from duet_core.settings import Settings
from tests.providers.local_fakes import next_event, running, wait_ended
from tests.providers.provider_fakes import DEADLINE, Consumer, text_of
from tests.run.conftest import wait_status

READY, WHY = local_model_status()
if not READY and os.environ.get("DUET_REQUIRE_LOCAL_MODEL") == "1":
    raise RuntimeError(f"DUET_REQUIRE_LOCAL_MODEL=1 but the local model is missing: {WHY}")
pytestmark = pytest.mark.skipif(not READY, reason=f"local model not installed: {WHY}")

ASK = [{"role": "user", "content": "Name three colours."}]
STORY = [{"role": "user", "content": "Tell me a long story about a dragon and a knight."}]
SETTINGS = Settings(_env_file=None)
SLOW = 300.0  # seconds: an upper bound on a model's reply on a busy 2-core machine


def bot(**kw) -> BotConfig:
    fields = {"name": "Smol", "provider": "local", "model": "SmolLM2-135M-Instruct"}
    return BotConfig(**{**fields, **kw})


def test_streams_tokens_usage_and_finish_from_a_child_process():
    chunks = list(local_provider().open("Be brief.", ASK, bot(max_tokens=48)))
    texts = [c for c in chunks if isinstance(c, TextDelta)]
    assert len(texts) > 3  # token by token, not one block
    assert text_of(chunks).strip()
    usage = next(c for c in chunks if isinstance(c, Usage))
    assert usage.input_tokens > 5 and 0 < usage.output_tokens <= 48
    assert isinstance(chunks[-1], Finish)
    pid = local_provider().server.pid
    assert pid is not None and pid != os.getpid() and running(pid)


def test_the_prompt_count_is_the_servers_own():
    """The count of the prompt (its tokenizer, on the chat template's text) is what the server
    itself reports for the same messages when it is asked without streaming."""
    chunks = list(local_provider().open("Be brief.", ASK, bot(max_tokens=4, temperature=0)))
    counted = next(c for c in chunks if isinstance(c, Usage)).input_tokens
    url = local_provider().start().url
    messages = [{"role": "system", "content": "Be brief."}, *ASK]
    answer = httpx2.post(
        url + "/v1/chat/completions",
        json={"messages": messages, "max_tokens": 1, "temperature": 0},
        timeout=SLOW,
    )
    assert counted == answer.json()["usage"]["prompt_tokens"]
    assert counted == len(
        httpx2.post(
            url + "/extras/tokenize", json={"input": chat_text("Be brief.", ASK)}, timeout=SLOW
        ).json()["tokens"]
    )


def test_max_tokens_cuts_the_reply():
    chunks = list(local_provider().open("", ASK, bot(max_tokens=5)))
    assert next(c for c in chunks if isinstance(c, Usage)).output_tokens <= 5
    assert chunks[-1] == Finish("length")


def test_temperature_zero_is_greedy():
    first = text_of(local_provider().open("", ASK, bot(temperature=0.0, top_p=0.5, max_tokens=12)))
    again = text_of(local_provider().open("", ASK, bot(temperature=0.0, top_p=0.5, max_tokens=12)))
    assert first.strip() and again == first


def test_two_concurrent_streams_queue_and_both_finish():
    """Without --interrupt_requests False the second request would cut the first one off."""
    first = Consumer(local_provider().open("", STORY, bot(max_tokens=60, temperature=0)))
    first.start()
    with first._changed:
        assert first._changed.wait_for(lambda: len(first.chunks) >= 2, SLOW)
    second = Consumer(local_provider().open("", ASK, bot(max_tokens=20, temperature=0)))
    second.start()  # while the first is still being written
    for consumer in (first, second):
        consumer.join(SLOW)
        assert not consumer.is_alive() and consumer.error is None
        assert isinstance(consumer.chunks[-1], Finish)
        assert text_of(consumer.chunks).strip()
    # the first was still being written when the second came (it needed all 60 tokens)
    assert first.chunks[-1] == Finish("length")


def test_close_ends_the_turn_within_a_second():
    stream = local_provider().open("", STORY, bot(max_tokens=400))
    consumer = Consumer(stream)
    consumer.start()
    with consumer._changed:
        assert consumer._changed.wait_for(lambda: len(consumer.chunks) >= 2, SLOW)
    started = time.monotonic()
    stream.close()
    consumer.join(1.0)
    assert not consumer.is_alive()
    assert time.monotonic() - started < 1.0
    assert consumer.error is None
    # the server is free again for the next turn
    assert text_of(local_provider().open("", ASK, bot(max_tokens=4)))


def test_listed_and_chosen_for_the_default_bots_without_a_key(monkeypatch):
    monkeypatch.delenv("DUET_OFFLINE_PROVIDER", raising=False)  # the suite's conftest sets it
    assert provider_available("local", SETTINGS) == (True, "")
    assert offline_provider(Settings(_env_file=None)) == "local"
    assert offline_provider(Settings(openai_api_key="sk-x", _env_file=None)) == "demo"
    monkeypatch.setenv("DUET_OFFLINE_PROVIDER", "demo")
    assert offline_provider(Settings(_env_file=None)) == "demo"


def test_a_four_turn_run_between_two_local_bots_then_stop_mid_turn():
    bots = [
        bot(name="Ada", system_prompt="You are a scientist.", max_tokens=40, temperature=0.7),
        bot(name="Bob", system_prompt="You are an optimist.", max_tokens=40, temperature=1.0),
    ]
    run = Run(config=RunConfig(topic="Is tea better than coffee?", max_turns=4, bots=bots))
    live = LiveRun(run, lambda b: local_provider())
    sub = live.subscribe()
    live.start()
    events = []
    while live.alive:
        events += sub.drain(timeout=0.5)
    events += sub.drain()
    turns = [e.turn for e in events if isinstance(e, TurnFinished)]
    assert [t.bot_name for t in turns] == ["Ada", "Bob", "Ada", "Bob"]
    assert all(t.content.strip() and t.output_tokens and t.input_tokens for t in turns)
    assert sum(isinstance(e, TextEvent) for e in events) > 4 * 3  # tokens streamed
    assert all(t.cost_usd == 0.0 for t in turns)

    bots_long = [b.model_copy(update={"max_tokens": 400}) for b in bots]
    run = Run(config=RunConfig(topic="Tell a long story.", max_turns=4, bots=bots_long))
    live = LiveRun(run, lambda b: local_provider())
    sub = live.subscribe()
    live.start()
    next_event(sub, lambda e: isinstance(e, TextEvent), SLOW)
    started = time.monotonic()
    live.stop()
    live.join(5)
    assert not live.alive
    assert time.monotonic() - started < 1.0


def test_a_segfault_of_the_model_ends_one_turn_and_the_next_turn_restarts_it():
    # another run of this process, held mid-reply while the model's server dies
    other = ScriptedProvider()
    hold = Hold()
    other.enqueue(["Still ", hold, "here."], "Fine.")
    other_bots = [BotConfig(name="Cy"), BotConfig(name="Di")]
    other_run = LiveRun(
        Run(config=RunConfig(topic="Chat", max_turns=2, bots=other_bots)), lambda b: other
    )
    other_run.start()
    assert hold.reached.wait(DEADLINE)

    bots = [bot(name="Ada", max_tokens=24), bot(name="Bob", max_tokens=400)]
    run = Run(config=RunConfig(topic="Tell a long story.", max_turns=3, bots=bots))
    live = LiveRun(run, lambda b: local_provider())
    sub = live.subscribe()
    live.start()
    next_event(sub, lambda e: isinstance(e, TextEvent) and e.turn_index == 1, SLOW)
    pid = local_provider().server.pid
    os.kill(pid, signal.SIGSEGV)  # as a native crash of the model would

    assert wait_status(live, RunStatus.ERROR, timeout=SLOW) is RunStatus.ERROR
    run = live.snapshot().run
    assert run.error == "The local model stopped (signal 11); it restarts on the next turn."
    assert len(run.turns) == 2 and run.turns[0].finish_reason in ("stop", "length")
    assert run.turns[1].content and run.turns[1].finish_reason == "error"  # kept
    assert wait_ended(pid, DEADLINE)

    assert other_run.status is RunStatus.RUNNING  # the other run never noticed
    hold.release()
    assert wait_status(other_run, RunStatus.COMPLETED) is RunStatus.COMPLETED

    run.status, run.error, run.stop_reason = RunStatus.RUNNING, None, None
    again = LiveRun(run, lambda b: local_provider())
    again.start()
    assert wait_status(again, RunStatus.COMPLETED, timeout=SLOW) is RunStatus.COMPLETED
    turns = again.snapshot().run.turns
    assert len(turns) == 3 and turns[2].content.strip() and turns[2].output_tokens
    assert local_provider().server.pid not in (None, pid)


def test_a_crash_is_a_provider_error_the_engine_reports():
    stream = local_provider().open("", STORY, bot(max_tokens=400))
    consumer = Consumer(stream)
    consumer.start()
    with consumer._changed:
        assert consumer._changed.wait_for(lambda: len(consumer.chunks) >= 2, SLOW)
    os.kill(local_provider().server.pid, signal.SIGKILL)  # as the out-of-memory killer would
    consumer.join(SLOW)
    assert isinstance(consumer.error, LocalModelStopped)
    assert str(consumer.error) == (
        "The local model stopped (signal 9); it restarts on the next turn."
    )
