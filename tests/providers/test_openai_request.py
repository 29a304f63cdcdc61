"""The exact Chat Completions request, and how its stream becomes chunks."""

from __future__ import annotations

import pytest

from duet_core.errors import ModelNotFound
from duet_core.models import BotConfig
from duet_core.providers.base import Finish, TextDelta, ThinkingDelta, Usage
from tests.providers.provider_fakes import (
    API_KEY,
    joined,
    openai_error,
    openai_stream,
    text_of,
    thinking_of,
)

HISTORY = [
    {"role": "user", "content": "Topic: tea or coffee?"},
    {"role": "assistant", "content": "Tea."},
    {"role": "user", "content": "Why?"},
]


def test_request_for_a_sampling_model(fake, openai_format):
    bot = openai_format.bot(temperature=0.7, top_p=0.9, max_tokens=300)
    chunks = list(openai_format.make().open("You like tea.", HISTORY, bot))

    request = fake.last
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    body = request.body
    assert body["model"] == "gpt-4.1-mini"
    assert body["messages"] == [{"role": "system", "content": "You like tea."}, *HISTORY]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.7
    assert body["top_p"] == 0.9
    assert body["max_completion_tokens"] == 300
    assert "max_tokens" not in body
    assert "reasoning_effort" not in body
    assert joined(chunks) == [TextDelta("Hello"), Usage(5, 2), Finish("stop")]


def test_no_system_message_when_the_prompt_is_empty(fake, openai_format):
    list(openai_format.make().open("", HISTORY, openai_format.bot()))
    assert fake.last.body["messages"] == HISTORY


def test_unset_sampling_knobs_are_not_sent(fake, openai_format):
    list(openai_format.make().open("", HISTORY, openai_format.bot()))
    assert "temperature" not in fake.last.body
    assert "top_p" not in fake.last.body


def test_request_for_a_reasoning_model(fake, openai_format):
    bot = openai_format.bot(model="o4-mini", effort="low", max_tokens=2000)
    list(openai_format.make().open("Think first.", HISTORY, bot))
    body = fake.last.body
    assert body["reasoning_effort"] == "low"
    assert body["max_completion_tokens"] == 2000
    assert "temperature" not in body
    assert "top_p" not in body
    assert body["messages"][0] == {"role": "system", "content": "Think first."}


def test_compatible_server_reasoning_content_is_thinking(fake, openai_format):
    fake.push(openai_stream(text=["42"], reasoning=["Let me ", "think."], usage=(9, 4)))
    bot = BotConfig(
        name="Local",
        provider="openai_compatible",
        model="qwen3",
        base_url=f"{fake.url}/v1",
        temperature=0.2,
        max_tokens=100,
    )
    provider = openai_format.make(compatible=True)
    chunks = list(provider.open("", HISTORY, bot))

    assert provider.name == "openai_compatible"
    assert thinking_of(chunks) == "Let me think."
    assert text_of(chunks) == "42"
    assert isinstance(chunks[0], ThinkingDelta)
    assert chunks[-2:] == [Usage(9, 4), Finish("stop")]
    body = fake.last.body
    assert body["max_tokens"] == 100
    assert "max_completion_tokens" not in body
    assert body["temperature"] == 0.2
    assert body["stream_options"] == {"include_usage": True}


def test_finish_reason_is_kept(fake, openai_format):
    fake.push(openai_stream(text=["cut sho"], finish="length"))
    chunks = list(openai_format.make().open("", HISTORY, openai_format.bot()))
    assert chunks[-1] == Finish("length")


def test_a_missing_done_after_the_finish_is_accepted(fake, openai_format):
    reply = openai_stream(text=["Done"])
    fake.push(reply.end_after(len(reply.events) - 1))  # everything but [DONE]
    chunks = list(openai_format.make().open("", HISTORY, openai_format.bot()))
    assert chunks[-2:] == [Usage(5, 2), Finish("stop")]


def test_compatible_errors_name_the_server(fake, openai_format):
    fake.push(openai_error(404, "model 'qwen9' not found"))
    bot = BotConfig(
        provider="openai_compatible", model="qwen9", base_url=f"{fake.url}/v1", max_tokens=100
    )
    with pytest.raises(ModelNotFound) as caught:
        list(openai_format.make(compatible=True).open("", HISTORY, bot))
    assert str(caught.value) == (
        f"Model 'qwen9' was not found at the server at {fake.url}/v1; pick another model"
        " or check the base URL (it usually ends in /v1)."
    )
