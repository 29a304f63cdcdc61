"""The ``local`` provider: SmolLM2-135M-Instruct through llama-cpp-python, inside the process.

An optional extra (``make local``): skipped with the reason where it is not installed, and
required where DUET_REQUIRE_LOCAL_MODEL=1 (CI).
"""

from __future__ import annotations

import os
import time

import pytest

from duet_core.models import BotConfig, Run, RunConfig
from duet_core.providers import offline_provider, provider_available
from duet_core.providers.base import Finish, TextDelta, Usage
from duet_core.providers.local import local_model_status, local_provider
from duet_core.run.engine import LiveRun
from duet_core.run.events import TextDelta as TextEvent
from duet_core.run.events import TurnFinished
from duet_core.settings import Settings
from tests.providers.provider_fakes import Consumer, text_of

READY, WHY = local_model_status()
if not READY and os.environ.get("DUET_REQUIRE_LOCAL_MODEL") == "1":
    raise RuntimeError(f"DUET_REQUIRE_LOCAL_MODEL=1 but the local model is missing: {WHY}")
pytestmark = pytest.mark.skipif(not READY, reason=f"local model not installed: {WHY}")

ASK = [{"role": "user", "content": "Name three colours."}]
SETTINGS = Settings(_env_file=None)


def bot(**kw) -> BotConfig:
    fields = {"name": "Smol", "provider": "local", "model": "SmolLM2-135M-Instruct"}
    return BotConfig(**{**fields, **kw})


def test_streams_tokens_usage_and_finish():
    chunks = list(local_provider().open("Be brief.", ASK, bot(max_tokens=48)))
    texts = [c for c in chunks if isinstance(c, TextDelta)]
    assert len(texts) > 3  # token by token, not one block
    assert text_of(chunks).strip()
    usage = next(c for c in chunks if isinstance(c, Usage))
    assert usage.input_tokens > 5 and 0 < usage.output_tokens <= 48
    assert isinstance(chunks[-1], Finish)


def test_max_tokens_cuts_the_reply():
    chunks = list(local_provider().open("", ASK, bot(max_tokens=5)))
    assert next(c for c in chunks if isinstance(c, Usage)).output_tokens <= 5
    assert chunks[-1] == Finish("length")


def test_temperature_and_top_p_reach_the_model(monkeypatch):
    llama = local_provider().load()
    seen: list[dict] = []
    real = llama.create_chat_completion

    def spy(**kwargs):
        seen.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(llama, "create_chat_completion", spy)
    list(local_provider().open("", ASK, bot(temperature=0.0, top_p=0.5, max_tokens=12)))
    assert seen[0]["temperature"] == 0.0 and seen[0]["top_p"] == 0.5
    assert seen[0]["max_tokens"] == 12
    # temperature 0 is greedy: the same words again
    again = text_of(local_provider().open("", ASK, bot(temperature=0.0, max_tokens=12)))
    first = text_of(local_provider().open("", ASK, bot(temperature=0.0, max_tokens=12)))
    assert again == first


def test_close_ends_the_turn_within_a_second():
    stream = local_provider().open("", ASK, bot(max_tokens=400))
    consumer = Consumer(stream)
    consumer.start()
    with consumer._changed:
        assert consumer._changed.wait_for(lambda: len(consumer.chunks) >= 2, 60)
    started = time.monotonic()
    stream.close()
    consumer.join(1.0)
    assert not consumer.is_alive()
    assert time.monotonic() - started < 1.0
    assert consumer.error is None
    # the model is free again for the next turn
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
    assert all(t.content.strip() and t.output_tokens for t in turns)
    assert sum(isinstance(e, TextEvent) for e in events) > 4 * 3  # tokens streamed
    assert all(t.cost_usd == 0.0 for t in turns)

    bots_long = [b.model_copy(update={"max_tokens": 400}) for b in bots]
    run = Run(config=RunConfig(topic="Tell a long story.", max_turns=4, bots=bots_long))
    live = LiveRun(run, lambda b: local_provider())
    sub = live.subscribe()
    live.start()
    while not isinstance(sub.get(timeout=60), TextEvent):
        pass
    started = time.monotonic()
    live.stop()
    live.join(5)
    assert not live.alive
    assert time.monotonic() - started < 1.0
