"""The exact Messages request, and how its raw events become chunks."""

from __future__ import annotations

import pytest

from duet_core.providers.base import Finish, TextDelta, ThinkingDelta, Usage
from tests.providers.provider_fakes import (
    API_KEY,
    anthropic_stream,
    joined,
    text_of,
    thinking_of,
)

HISTORY = [
    {"role": "user", "content": "Topic: tea or coffee?"},
    {"role": "assistant", "content": "Coffee."},
    {"role": "user", "content": "Why?"},
]
SAMPLING = ("temperature", "top_p", "top_k")


def test_request_has_the_system_parameter_and_no_sampling_knobs(fake, anthropic_format):
    bot = anthropic_format.bot(max_tokens=400)
    chunks = list(anthropic_format.make().open("You like coffee.", HISTORY, bot))

    request = fake.last
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"  # anthropic 2.x style
    body = request.body
    assert body["model"] == "claude-sonnet-5-5"
    assert body["system"] == "You like coffee."
    assert body["messages"] == HISTORY  # no system message among them
    assert body["max_tokens"] == 400
    assert body["stream"] is True
    assert not any(key in body for key in SAMPLING)
    assert "thinking" not in body
    assert "output_config" not in body
    assert joined(chunks) == [TextDelta("Hello"), Usage(5, 2), Finish("stop")]


def test_no_system_parameter_when_the_prompt_is_empty(fake, anthropic_format):
    list(anthropic_format.make().open("", HISTORY, anthropic_format.bot()))
    assert "system" not in fake.last.body


@pytest.mark.parametrize(
    ("model", "thinking"),
    [
        ("claude-opus-4-5", {"type": "enabled", "budget_tokens": 2048}),
        # the newest models refuse a budget: thinking is on or off, its length theirs
        ("claude-sonnet-5-5", {"type": "adaptive"}),
    ],
)
def test_thinking_and_effort(fake, anthropic_format, model, thinking):
    fake.push(anthropic_stream(text=["Coffee, "], thinking=["Weigh ", "both."], usage=(12, 30)))
    bot = anthropic_format.bot(model=model, effort="high", thinking_budget=2048, max_tokens=4096)
    chunks = list(anthropic_format.make().open("Be fair.", HISTORY, bot))

    body = fake.last.body
    assert body["thinking"] == thinking
    assert body["output_config"] == {"effort": "high"}
    assert not any(key in body for key in SAMPLING)
    assert thinking_of(chunks) == "Weigh both."
    assert text_of(chunks) == "Coffee, "
    assert isinstance(chunks[0], ThinkingDelta)
    assert chunks[-2:] == [Usage(12, 30), Finish("stop")]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop_sequence"),
        ("refusal", "refusal"),
    ],
)
def test_stop_reasons(fake, anthropic_format, stop_reason, finish):
    fake.push(anthropic_stream(stop_reason=stop_reason))
    chunks = list(anthropic_format.make().open("", HISTORY, anthropic_format.bot()))
    assert chunks[-1] == Finish(finish)
