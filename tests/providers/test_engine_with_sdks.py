"""A whole run through the engine with both real SDKs talking to the local fake server:
the exact requests each bot sends, turn after turn, and a mid-run change of settings."""

from __future__ import annotations

from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers import make_provider
from duet_core.run.engine import LiveRun
from duet_core.run.events import TurnFinished
from duet_core.settings import Settings
from tests.providers.provider_fakes import API_KEY, DEADLINE


def test_a_run_between_openai_and_anthropic_sends_the_right_requests(fake):
    settings = Settings(
        OPENAI_API_KEY=API_KEY,
        ANTHROPIC_API_KEY=API_KEY,
        OPENAI_BASE_URL=f"{fake.url}/v1",
        ANTHROPIC_BASE_URL=fake.url,
        max_retries=0,
        request_timeout=DEADLINE,
    )
    gpt = BotConfig(
        name="Gpt",
        provider="openai",
        model="gpt-4.1-mini",
        temperature=0.7,
        system_prompt="You are Gpt.",
    )
    claude = BotConfig(
        name="Claude",
        provider="anthropic",
        model="claude-sonnet-5-5",
        effort="low",
        system_prompt="You are Claude.",
        max_tokens=300,
    )
    config = RunConfig(topic="Is tea better than coffee?", max_turns=6, bots=[gpt, claude])
    live = LiveRun(Run(config=config), lambda bot: make_provider(bot, settings))
    sub = live.subscribe()
    live.start()

    # after the first turn: pause, change both bots, resume
    while not isinstance(sub.get(timeout=DEADLINE), TurnFinished):
        pass
    live.pause()
    while live.status is not RunStatus.PAUSED:
        assert sub.get(timeout=DEADLINE) is not None
    before = len(fake.requests)
    live.update_bot(0, {"temperature": 1.3})
    live.update_bot(1, {"effort": "high"})
    live.resume()
    assert live.join(DEADLINE) and live.status is RunStatus.COMPLETED

    openai_bodies = [r.body for r in fake.requests if r.path.endswith("/chat/completions")]
    claude_bodies = [r.body for r in fake.requests if r.path.endswith("/messages")]
    assert len(openai_bodies) == 3 and len(claude_bodies) == 3
    # OpenAI: the system prompt is the first message, roles alternate, the last is the user
    for body in openai_bodies:
        roles = [m["role"] for m in body["messages"]]
        assert roles[0] == "system" and body["messages"][0]["content"] == "You are Gpt."
        assert roles[1::2] == ["user"] * len(roles[1::2])
        assert roles[2::2] == ["assistant"] * len(roles[2::2]) and roles[-1] == "user"
        assert body["stream_options"] == {"include_usage": True}
    # Anthropic: the system prompt is the `system` parameter; never a sampling knob
    for body in claude_bodies:
        roles = [m["role"] for m in body["messages"]]
        assert body["system"] == "You are Claude."
        assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]
        assert not {"temperature", "top_p", "top_k"} & set(body)
    # each bot used its new settings from its first turn after the change, not before
    order = [r.path.endswith("/messages") for r in fake.requests]
    temps = [r.body["temperature"] for r in fake.requests if not r.path.endswith("/messages")]
    efforts = [
        r.body["output_config"]["effort"] for r in fake.requests if r.path.endswith("/messages")
    ]
    gpt_before = order[:before].count(False)
    claude_before = order[:before].count(True)
    assert gpt_before >= 1  # a real mid-run change
    assert temps == [0.7] * gpt_before + [1.3] * (3 - gpt_before)
    assert efforts == ["low"] * claude_before + ["high"] * (3 - claude_before)
    saved = live.snapshot().run
    assert [t.config.temperature for t in saved.turns if t.bot_index == 0] == temps
    assert [t.config.effort for t in saved.turns if t.bot_index == 1] == efforts
    assert all(t.input_tokens and t.output_tokens for t in saved.turns)
