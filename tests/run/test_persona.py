"""A bot's persona from a template: what the provider is sent, and what each turn records."""

from __future__ import annotations

import pytest

from duet_core.errors import ConfigError
from duet_core.models import BotConfig, PromptRef, Run, RunConfig, RunStatus
from duet_core.providers.scripted import Hold
from duet_core.run.engine import start_run
from duet_core.run.persona import builtin_variables, turn_request
from tests.run.conftest import wait_status

DEBATER = [
    {"role": "system", "content": "You are {{ my_name }}, debating {{ partner_name }}."},
    {"role": "system", "content": "Turn {{ turn }}; {{ turns_left }} to go. Style: {{ style }}."},
    {"role": "human", "content": "Example question about {{ topic }}?"},
    {"role": "ai", "content": "An example answer, {{ style }}."},
]


def config(ada: BotConfig, bob: BotConfig | None = None, max_turns: int = 2) -> RunConfig:
    bob = bob or BotConfig(name="Bob", system_prompt="You are Bob.")
    return RunConfig(topic="Tea or coffee?", max_turns=max_turns, bots=[ada, bob])


def test_builtin_variables():
    bots = [BotConfig(name="Ada"), BotConfig(name="Bob")]
    assert builtin_variables("T", bots, 1, 3, 10) == {
        "topic": "T",
        "my_name": "Bob",
        "partner_name": "Ada",
        "turn": 3,
        "turns_left": 7,
    }
    assert builtin_variables("T", bots, 0, 12, 10)["turns_left"] == 0


def test_a_saved_template_is_rendered_pinned_and_recorded(provider, store):
    store.prompts.save("debater", DEBATER, note="v1")
    ada = BotConfig(name="Ada", prompt={"name": "debater", "variables": {"style": "terse"}})
    provider.enqueue("Tea wins.", "Coffee wins.")
    live = start_run(Run(owner="alice", config=config(ada)), lambda b: provider, store)
    wait_status(live, RunStatus.COMPLETED)

    first = provider.calls[0]
    assert first.system == (
        "You are Ada, debating Bob.\n\nTurn 1; 1 to go. Style: terse."
    )  # system messages joined by a blank line
    assert first.messages == [
        {"role": "user", "content": "Example question about Tea or coffee??"},
        {"role": "assistant", "content": "An example answer, terse."},
        {"role": "user", "content": "Tea or coffee?"},
    ]
    saved = store.get_run(live.id)
    turn = saved.turns[0]
    assert turn.prompt == PromptRef(name="debater", version=1, variables={"style": "terse"})
    assert turn.request_messages == [{"role": "system", "content": first.system}, *first.messages]
    assert turn.config.prompt.version == 1  # "latest" pinned when the run started
    assert saved.config.bots[0].prompt.version == 1
    # Bob has a plain system prompt: no template, and his request is recorded too
    assert saved.turns[1].prompt is None
    assert saved.turns[1].request_messages[0] == {"role": "system", "content": "You are Bob."}
    assert saved.turns[1].request_messages[-1] == {
        "role": "user",
        "content": "Tea or coffee?\n\nTea wins.",
    }


def test_inline_persona_messages(provider, store):
    ada = BotConfig(
        name="Ada",
        persona=[
            {"role": "human", "content": "Hi {{ my_name }}"},
            {"role": "ai", "content": "Hello."},
        ],
    )
    provider.enqueue("One.")
    live = start_run(Run(config=config(ada, max_turns=1)), lambda b: provider, store)
    wait_status(live, RunStatus.COMPLETED)
    call = provider.calls[0]
    assert call.system == ""  # no system messages: no system prompt
    assert call.messages[0] == {"role": "user", "content": "Hi Ada"}
    turn = store.get_run(live.id).turns[0]
    assert turn.prompt is None
    assert turn.request_messages == call.messages  # no system message when there is none


def test_the_template_version_can_switch_mid_run(provider, store):
    store.prompts.save("debater", DEBATER)
    store.prompts.save("debater", [{"role": "system", "content": "Version two, {{ my_name }}."}])
    ada = BotConfig(
        name="Ada", prompt={"name": "debater", "version": 1, "variables": {"style": "x"}}
    )
    hold = Hold()
    provider.enqueue(["Ada one", hold], "Bob one", "Ada two", "Bob two")
    live = start_run(Run(config=config(ada, max_turns=4)), lambda b: provider, store)
    assert hold.reached.wait(5)
    switched = live.bots()[0].model_copy(
        update={"prompt": PromptRef(name="debater", version=None, variables={})}
    )
    assert live.update_bot(0, switched).prompt.version == 2  # latest, pinned at the switch
    hold.release()
    wait_status(live, RunStatus.COMPLETED)

    assert provider.calls[2].system == "Version two, Ada."
    turns = store.get_run(live.id).turns
    assert [t.prompt.version if t.prompt else None for t in turns] == [1, None, 2, None]
    assert turns[2].request_messages[0] == {"role": "system", "content": "Version two, Ada."}


def test_an_unknown_template_is_refused_before_the_run_starts(provider, store):
    ada = BotConfig(name="Ada", prompt={"name": "missing"})
    with pytest.raises(ConfigError, match="No saved template named 'missing'"):
        start_run(Run(config=config(ada)), lambda b: provider, store)
    with pytest.raises(ConfigError, match="need a database"):
        start_run(Run(config=config(ada)), lambda b: provider, None)


def test_examples_must_start_with_a_human_message(store):
    store.prompts.save("ai-first", [{"role": "ai", "content": "I speak first."}])
    bots = [BotConfig(name="Ada", prompt={"name": "ai-first"}), BotConfig(name="Bob")]
    with pytest.raises(ConfigError, match="put a human message before it"):
        turn_request("T", [], 0, bots, 4, store.prompts)


def test_turn_request_without_a_template_is_the_old_view(store):
    bots = [BotConfig(name="Ada", system_prompt="Be Ada."), BotConfig(name="Bob")]
    request = turn_request("Topic", [], 0, bots, 4, store.prompts)
    assert request.system == "Be Ada." and request.prompt is None
    assert request.request_messages == [
        {"role": "system", "content": "Be Ada."},
        {"role": "user", "content": "Topic"},
    ]
