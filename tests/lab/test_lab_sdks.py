"""The Prompt Lab through the real OpenAI and Anthropic SDKs at the local fake server:
regenerate replays the original request byte for byte, edits change only what they name,
variants run at once, thinking streams apart from the text, continue, errors and stop."""

from __future__ import annotations

import copy
from itertools import groupby

import pytest

from duet_core.errors import ConfigError
from duet_core.lab.edits import parse_sets
from duet_core.lab.requests import Experiment, continue_request, regenerate_request, run_variants
from duet_core.models import BotConfig
from duet_core.run.bot_view import bot_view
from tests.lab.conftest import CLAUDE, GPT, recorded_run
from tests.providers.provider_fakes import (
    DEADLINE,
    anthropic_stream,
    openai_error,
    openai_stream,
)


def bodies_for(fake, path_end: str) -> list[dict]:
    return [r.body for r in fake.requests if r.path.endswith(path_end)]


@pytest.mark.parametrize("turn_index", [2, 3])  # turn 2 by Gpt (OpenAI), 3 by Claude
def test_regenerate_unchanged_sends_the_original_request(fake, provider_for, turn_index):
    run = recorded_run(provider_for)
    original = copy.deepcopy(fake.requests[turn_index].body)
    path = fake.requests[turn_index].path
    fake.requests.clear()

    request = regenerate_request(run, turn_index)
    assert request.replay == bool(run.turns[turn_index].request_messages)
    lab = run_variants([request], provider_for)

    assert len(fake.requests) == 1 and fake.requests[0].path == path
    assert fake.requests[0].body == original  # every field, every message, byte for byte
    turn = lab.results[0]
    assert turn.index == turn_index and turn.bot_index == run.turns[turn_index].bot_index
    assert turn.content == "Hello" and turn.finish_reason == "stop"
    assert turn.request_messages == (
        run.turns[turn_index].request_messages or turn.request_messages
    )


def test_an_edit_changes_only_that_setting(fake, provider_for):
    run = recorded_run(provider_for)
    original = copy.deepcopy(fake.requests[2].body)
    fake.requests.clear()

    request = regenerate_request(run, 2, parse_sets(["temperature=1.3", "max_tokens=77"]))
    lab = run_variants([request], provider_for)

    sent = fake.requests[0].body
    assert sent["temperature"] == 1.3 and sent["max_completion_tokens"] == 77
    changed = {k for k in original.keys() | sent.keys() if original.get(k) != sent.get(k)}
    assert changed == {"temperature", "max_completion_tokens"}
    assert lab.results[0].config.temperature == 1.3


def test_a_persona_edit_rebuilds_the_messages_with_the_new_system_prompt(fake, provider_for):
    run = recorded_run(provider_for)
    original = copy.deepcopy(fake.requests[3].body)
    fake.requests.clear()

    request = regenerate_request(run, 3, parse_sets(["system_prompt=You are a grumpy Claude."]))
    run_variants([request], provider_for)

    sent = fake.requests[0].body
    assert sent["system"] == "You are a grumpy Claude."
    assert sent["messages"] == original["messages"]  # what it saw is the same conversation


def test_variants_stream_at_once(fake, provider_for):
    run = recorded_run(provider_for)
    fake.requests.clear()
    words = [f"w{i} " for i in range(6)]
    fake.push(*(openai_stream(text=[f"v{k} ", *words]).slowly(0.03) for k in range(3)))

    request = regenerate_request(run, 2, parse_sets(["temperature=1.3"]))
    lab = Experiment([request] * 3, provider_for).start()
    seen_at_first_done = None
    texts: dict[int, str] = {0: "", 1: "", 2: ""}
    for event in lab.events_until_done():
        if event.type == "text":
            texts[event.variant] += event.content
        if event.type == "done" and seen_at_first_done is None:
            seen_at_first_done = len(fake.requests)
    assert lab.join(DEADLINE)
    assert seen_at_first_done == 3  # all three were streaming before any finished
    assert all(r.body["temperature"] == 1.3 for r in fake.requests)
    assert sorted(texts.values()) == sorted(f"v{k} " + "".join(words) for k in range(3))
    assert [t.content for t in lab.results] == [texts[0], texts[1], texts[2]]
    for turn in lab.results:
        assert turn.ttft_ms is not None and turn.latency_ms >= turn.ttft_ms
        assert turn.input_tokens == 5 and turn.output_tokens == 2
        assert turn.cost_usd is not None and turn.cost_usd > 0


def test_anthropic_thinking_streams_apart_from_the_text(fake, provider_for):
    run = recorded_run(provider_for)
    fake.requests.clear()
    fake.push(anthropic_stream(thinking=["Let me ", "weigh it."], text=["Tea", " wins."]))

    request = regenerate_request(run, 3, parse_sets(["thinking_budget=1024"]))
    events = []
    lab = run_variants([request], provider_for, on_event=events.append)

    assert fake.requests[0].body["thinking"]["type"] in ("enabled", "adaptive")  # per model
    # thinking, then text, each in as many events as the network split it into
    streamed = [e for e in events if e.type in ("thinking", "text")]
    kinds = [
        (kind, "".join(e.content for e in same))
        for kind, same in groupby(streamed, key=lambda e: e.type)
    ]
    assert kinds == [("thinking", "Let me weigh it."), ("text", "Tea wins.")]
    turn = lab.results[0]
    assert turn.thinking == "Let me weigh it." and turn.content == "Tea wins."
    assert events[-1].type == "done" and events[-1].turn is turn


def test_openai_compatible_reasoning_content_streams_apart(fake, provider_for):
    local = BotConfig(
        name="Qwen",
        provider="openai_compatible",
        model="qwen3:4b",
        base_url=f"{fake.url}/v1",
        system_prompt="You are Qwen.",
    )
    run = recorded_run(provider_for, bots=(GPT, local))
    fake.requests.clear()
    fake.push(openai_stream(reasoning=["Hmm, ", "tea."], text=["Tea", "!"]))

    events = []
    lab = run_variants([regenerate_request(run, 1)], provider_for, on_event=events.append)

    # thinking, then text, each in as many events as the network split it into
    assert [kind for kind, _ in groupby(e.type for e in events)] == ["thinking", "text", "done"]
    assert lab.results[0].thinking == "Hmm, tea." and lab.results[0].content == "Tea!"


def test_continue_lets_the_next_bot_write_one_more_turn(fake, provider_for):
    run = recorded_run(provider_for, turns=3)  # Gpt, Claude, Gpt: Claude is next
    fake.requests.clear()
    fake.push(anthropic_stream(text=["One ", "more."]))

    request = continue_request(run, parse_sets(["effort=high"]))
    lab = run_variants([request], provider_for)

    sent = fake.requests[0]
    assert sent.path.endswith("/messages")
    system, messages = bot_view(run.config.topic, run.turns, 1, CLAUDE)
    assert sent.body["system"] == system and sent.body["messages"] == messages
    assert sent.body["output_config"] == {"effort": "high"}
    turn = lab.results[0]
    assert (turn.index, turn.bot_index, turn.bot_name) == (3, 1, "Claude")
    assert turn.content == "One more."


def test_a_failing_variant_reports_an_error_and_the_others_finish(fake, provider_for):
    run = recorded_run(provider_for)
    fake.requests.clear()
    fake.push(openai_error(401, "Incorrect API key provided"), openai_stream())

    request = regenerate_request(run, 2)
    events = []
    lab = run_variants([request, request], provider_for, on_event=events.append)

    ends = [e for e in events if e.type in ("done", "error")]
    assert sorted(e.type for e in ends) == ["done", "error"]
    error = next(e for e in ends if e.type == "error")
    assert "key" in error.message.lower()
    assert error.as_json() == {"type": "error", "variant": error.variant, "message": error.message}
    assert lab.variants[error.variant].error == error.message


def test_stop_closes_every_stream(fake, provider_for):
    run = recorded_run(provider_for)
    fake.requests.clear()
    stalls = [openai_stream(text=["a", "b", "c"]).stall_after(2) for _ in range(2)]
    fake.push(*stalls)

    lab = Experiment([regenerate_request(run, 2)] * 2, provider_for).start()
    for reply in stalls:
        assert reply.stalled.wait(DEADLINE)
    lab.stop()
    assert lab.join(DEADLINE)
    for reply in stalls:
        assert reply.disconnected.wait(DEADLINE)  # the HTTP stream was closed
    assert [t.finish_reason for t in lab.results] == ["stopped", "stopped"]


def test_bad_requests_are_refused_with_a_message(provider_for, fake):
    run = recorded_run(provider_for)
    with pytest.raises(ConfigError, match="No turn 9"):
        regenerate_request(run, 9)
    with pytest.raises(ConfigError, match="does not take temperature"):
        regenerate_request(run, 3, parse_sets(["temperature=0.5"]))
    with pytest.raises(ConfigError, match="1 to 4 variants"):
        Experiment([regenerate_request(run, 2)] * 5, provider_for)


def test_regenerate_replays_the_recorded_request_not_a_rebuilt_one(fake, provider_for):
    run = recorded_run(provider_for)
    assert run.turns[2].request_messages == [
        {"role": "system", "content": "You are Gpt."},
        *fake.requests[2].body["messages"][1:],
    ]  # the engine recorded what it sent
    # a turn recorded by an older Duet (say, another continue prompt): replayed as recorded
    recorded = [
        {"role": "system", "content": "You were Gpt then."},
        {"role": "user", "content": "Is tea better than coffee?"},
        {"role": "assistant", "content": "Tea."},
        {"role": "user", "content": "Go on, then."},
    ]
    run.turns[2].request_messages = recorded
    fake.requests.clear()

    request = regenerate_request(run, 2, parse_sets(["model=gpt-4o-mini"]))
    assert request.replay
    run_variants([request], provider_for)

    assert fake.requests[0].body["messages"] == recorded
    assert fake.requests[0].body["model"] == "gpt-4o-mini"


def test_the_lab_never_changes_the_source_run(fake, provider_for):
    run = recorded_run(provider_for)
    before = run.model_dump()
    requests = [regenerate_request(run, 2, parse_sets(["temperature=0.1"])), continue_request(run)]
    run_variants(requests, provider_for)
    assert run.model_dump() == before


def test_each_provider_call_is_logged_with_the_source_run_and_person(fake, provider_for):
    import logging

    from duet_core.logs import run_logger

    run = recorded_run(provider_for)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = run_logger(run.id, "fran")
    level = logger.logger.level
    logger.logger.addHandler(handler)
    logger.logger.setLevel(logging.INFO)
    try:
        run_variants([regenerate_request(run, 2)] * 2, provider_for, logger=logger)
    finally:
        logger.logger.removeHandler(handler)
        logger.logger.setLevel(level)
    calls = [r for r in records if r.getMessage() == "provider call"]
    assert len(calls) == 2
    assert all(
        (r.run_id, r.user, r.turn, r.model) == (run.id, "fran", 2, "gpt-4.1-mini") for r in calls
    )
