"""A template persona through the real OpenAI and Anthropic SDKs at the local fake server:
OpenAI gets it as a first ``system`` message, Anthropic as the ``system`` parameter, and the
template's examples arrive before the topic in the right roles. What each turn records as
``request_messages`` is what went over the wire."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers import clear_client_cache, make_provider
from duet_core.run.bot_view import split_request
from duet_core.run.engine import start_run
from duet_core.settings import Settings
from duet_core.store import Store
from tests.providers.provider_fakes import API_KEY, DEADLINE, FakeServer

TEMPLATE = [
    {"role": "system", "content": "You are {{ my_name }}. Be {{ style }}."},
    {"role": "human", "content": "Example: is {{ thing }} good?"},
    {"role": "ai", "content": "Example answer from {{ my_name }}."},
    {"role": "system", "content": "{{ turns_left }} turns left after this one."},
]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    clear_client_cache()
    server = FakeServer().start()
    yield server
    server.stop()
    clear_client_cache()


def test_template_persona_reaches_openai_and_anthropic(fake, tmp_path):
    settings = Settings(
        OPENAI_API_KEY=API_KEY,
        ANTHROPIC_API_KEY=API_KEY,
        OPENAI_BASE_URL=f"{fake.url}/v1",
        ANTHROPIC_BASE_URL=fake.url,
        max_retries=0,
        request_timeout=DEADLINE,
    )
    with Store(f"sqlite:///{tmp_path / 'duet.db'}") as store:
        store.prompts.save("debater", TEMPLATE)
        gpt = BotConfig(
            name="Gpt",
            provider="openai",
            model="gpt-4.1-mini",
            prompt={"name": "debater", "variables": {"style": "brief", "thing": "tea"}},
        )
        claude = BotConfig(
            name="Claude",
            provider="anthropic",
            model="claude-sonnet-5-5",
            max_tokens=300,
            prompt={"name": "debater", "version": 1, "variables": {"style": "kind"}},
        )
        config = RunConfig(topic="Tea or coffee?", max_turns=2, bots=[gpt, claude])
        live = start_run(Run(config=config), lambda bot: make_provider(bot, settings), store)
        assert live.join(60) and live.status is RunStatus.COMPLETED, live.snapshot().run.error
        saved = store.get_run(live.id)

    openai_body = next(r.body for r in fake.requests if r.path.endswith("/chat/completions"))
    claude_body = next(r.body for r in fake.requests if r.path.endswith("/messages"))

    assert openai_body["messages"] == [
        {"role": "system", "content": "You are Gpt. Be brief.\n\n1 turns left after this one."},
        {"role": "user", "content": "Example: is tea good?"},
        {"role": "assistant", "content": "Example answer from Gpt."},
        {"role": "user", "content": "Tea or coffee?"},
    ]
    assert claude_body["system"] == "You are Claude. Be kind.\n\n0 turns left after this one."
    roles = [m["role"] for m in claude_body["messages"]]
    assert roles == ["user", "assistant", "user"]
    texts = [_text(m["content"]) for m in claude_body["messages"]]
    assert texts[0] == "Example: is  good?"  # "thing" missing for Claude: rendered empty
    assert texts[1] == "Example answer from Claude."
    assert texts[2].startswith("Tea or coffee?\n\n")  # the topic, then Gpt's reply merged in

    # what each turn recorded is exactly what went over the wire
    gpt_turn, claude_turn = saved.turns
    assert gpt_turn.request_messages == openai_body["messages"]
    system, messages = split_request(claude_turn.request_messages)
    assert system == claude_body["system"]
    assert [m["role"] for m in messages] == roles
    assert [m["content"] for m in messages] == texts
    assert (gpt_turn.prompt.name, gpt_turn.prompt.version) == ("debater", 1)
    assert gpt_turn.prompt.variables == {"style": "brief", "thing": "tea"}


def _text(content) -> str:
    """Anthropic content: a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)
