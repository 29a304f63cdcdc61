"""The Prompt Lab: replay a saved turn with other settings, or write one more turn, without
touching the database; "save as branch" is its one write.

    source = lab_sources.load_run(store, run_id, user)            # or read_transcript(...)
    request = regenerate_request(source.run, 2, parse_sets(["temperature=1.3"]))
    lab = Experiment([request, request], provider_for).start()    # two variants at once
    for event in lab.events_until_done():                         # thinking / text / done / error
        ...
    branch = save_branch(store, source, lab.results[0], owner=user)

A request that changes nothing in the persona sends byte for byte the messages the original
turn sent (its recorded ``request_messages``); the other settings (model, temperature, ...)
apply as edited. Each variant streams through ``turn_stream.stream_turn``, the engine's own
per-turn code, so tokens, time to first token, latency and cost are counted the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from duet_core.errors import ConfigError
from duet_core.lab.edits import Edits
from duet_core.lab.sources import LabSource
from duet_core.lab.variants import (
    MAX_VARIANTS,
    Experiment,
    LabEvent,
    LabRequest,
    VariantState,
    run_variants,
    turn_json,
)
from duet_core.models import BotConfig, PromptMessage, PromptRef, Run, RunStatus, Turn, utcnow
from duet_core.run.bot_view import CONTINUE_PROMPT, merge_roles, split_request
from duet_core.run.persona import TemplateSource, TurnRequest, turn_request
from duet_core.templates import PROVIDER_ROLE, render_messages
from duet_core.vocabulary import FinishReason, StopReason

BRANCH_STOP_REASON = StopReason.BRANCH  # a branch starts stopped, ready for Continue
log = logging.getLogger("duet.lab")
__all__ = [  # the Lab in one import: requests, running variants (lab_variants), a branch
    "BRANCH_STOP_REASON",
    "MAX_VARIANTS",
    "Experiment",
    "LabEvent",
    "LabRequest",
    "VariantState",
    "continue_request",
    "find_turn",
    "playground_request",
    "regenerate_request",
    "run_variants",
    "save_branch",
    "turn_json",
    "with_user_message",
]


class RunWriter(Protocol):
    def create_run(self, run: Run) -> None: ...


def find_turn(run: Run, index: int) -> Turn:
    for turn in run.turns:
        if turn.index == index:
            return turn
    last = run.turns[-1].index if run.turns else -1
    raise ConfigError(
        f"No turn {index} in this run: --turn takes a turn's index, 0 to {last}"
        " (the page shows it plus one)."
    )


def _view(
    run: Run,
    before: Sequence[Turn],
    bot_index: int,
    bots: list[BotConfig],
    library: TemplateSource | None,
) -> TurnRequest:
    """What the engine would send ``bots[bot_index]`` after the turns ``before``."""
    try:
        return turn_request(
            run.config.topic, list(before), bot_index, bots, run.config.max_turns, library
        )
    except LookupError as e:  # a template or version that is not in the library
        raise ConfigError(str(e)) from None


def regenerate_request(
    run: Run, index: int, edits: Edits | None = None, library: TemplateSource | None = None
) -> LabRequest:
    """Turn ``index`` again, by the bot that wrote it, with ``edits`` to its settings.

    Unless the persona is edited, the messages are the ones the turn recorded, unchanged.
    ``library`` (``Store.prompts``) is read when a saved template must be rendered.
    """
    edits = edits or Edits()
    turn = find_turn(run, index)
    if turn.bot_index is None:
        raise ConfigError(
            f"Turn {index} was written by a person ({turn.bot_name}); pick a bot's turn."
        )
    bots = list(run.bots_before(index))
    original = turn.config or bots[turn.bot_index]
    bot = edits.apply(original)
    if turn.request_messages and not edits.persona_changed:
        system, messages = split_request(turn.request_messages)
        return LabRequest(index, turn.bot_index, bot, system, messages, turn.prompt, replay=True)
    bots[turn.bot_index] = bot
    before = [t for t in run.turns if t.index < index]
    req = _view(run, before, turn.bot_index, bots, library)
    return LabRequest(index, turn.bot_index, bot, req.system, req.messages, req.prompt)


def continue_request(
    run: Run, edits: Edits | None = None, library: TemplateSource | None = None
) -> LabRequest:
    """One more turn after the last, by the bot whose turn is next, with ``edits``."""
    edits = edits or Edits()
    bot_index = run.next_speaker
    bots = list(run.bots_in_use())
    bots[bot_index] = edits.apply(bots[bot_index])
    req = _view(run, run.turns, bot_index, bots, library)
    index = run.turns[-1].index + 1 if run.turns else 0
    return LabRequest(index, bot_index, bots[bot_index], req.system, req.messages, req.prompt)


def with_user_message(run: Run, text: str, author: str) -> Run:
    """A copy of ``run`` with a person's message after its last turn: Continue then has the
    bot whose turn is next answer it."""
    text = text.strip()
    if not text:
        raise ConfigError("Write the message the bot should answer.")
    copy = run.model_copy(deep=True)
    now = utcnow()
    copy.turns.append(
        Turn(
            index=run.turns[-1].index + 1 if run.turns else 0,
            bot_index=None,
            bot_name=author.strip() or "Moderator",
            content=text,
            started_at=now,
            finished_at=now,
            finish_reason=FinishReason.PERSON,
        )
    )
    return copy


def playground_request(
    bot: BotConfig,
    messages: Sequence[PromptMessage],
    variables: Mapping[str, Any] | None = None,
    prompt: PromptRef | None = None,
) -> LabRequest:
    """A template tried on its own (``POST /api/playground``, the Prompts page's "Try it"): its
    messages rendered with ``variables``; the ``system`` ones are the system prompt, the
    ``human`` and ``ai`` ones the conversation ``bot`` answers (``bot``'s own persona is not
    used). ``prompt``: the saved template the messages are, recorded on the reply."""
    rendered = render_messages(messages, variables or {})
    system = "\n\n".join(m["content"] for m in rendered if m["role"] == "system")
    pairs = [(PROVIDER_ROLE[m["role"]], m["content"]) for m in rendered if m["role"] != "system"]
    if not pairs:
        raise ConfigError("Give the bot a human message to answer (only system messages given).")
    if pairs[0][0] != "user":
        raise ConfigError("Start the conversation with a human message, not an ai one.")
    conversation = merge_roles(pairs)
    if conversation[-1]["role"] == "assistant":
        conversation.append({"role": "user", "content": CONTINUE_PROMPT})
    bot = bot.model_copy(update={"system_prompt": system, "persona": None, "prompt": None})
    if prompt is not None and variables:
        prompt = prompt.model_copy(update={"variables": dict(variables)})
    return LabRequest(0, 0, bot, system, conversation, prompt)


# --- the one write -----------------------------------------------------------------------


def save_branch(store: RunWriter, source: LabSource | Run, turn: Turn, owner: str) -> Run:
    """Save a new run: the parent's turns before ``turn.index``, then ``turn``.

    The branch records ``parent_id`` (the source run's id) and ``fork_turn`` (the index of its
    first new turn); it is saved stopped, so Continue on the conversation page runs it onward.
    """
    parent = source.run if isinstance(source, LabSource) else source
    if turn.bot_index is None or turn.config is None:
        raise ConfigError("Only a bot's turn from the Lab can start a branch.")
    fork = turn.index
    if fork > (parent.turns[-1].index + 1 if parent.turns else 0):
        raise ConfigError(f"Turn {fork} does not follow the run's turns.")
    before = [t.model_copy(deep=True) for t in parent.turns if t.index < fork]
    now = utcnow()
    branch = Run(
        owner=owner,
        config=parent.config,
        status=RunStatus.STOPPED,
        stop_reason=BRANCH_STOP_REASON,
        created_at=now,
        finished_at=now,
        turns=[*before, turn.model_copy(deep=True)],
        parent_id=parent.id,
        fork_turn=fork,
    )
    store.create_run(branch)
    log.info("branch saved", extra={"run_id": branch.id, "parent_id": parent.id, "fork": fork})
    return branch
