"""Judging Prompt Lab variants, and people's blind votes between two of them.

A variant is judged as if it were in the conversation: the source's turns before it, then the
variant (``variant_conversation``), through the evaluation code's own request and strict
reading (``duet_core.evals.judging.judge_once``): the same rubric, the same JSON answer, the
same one-line errors. Nothing is stored: the scores live on the page beside the variants.

A vote between two variants (``cast_lab_vote``) is the one write the Lab makes without a
branch: a ``votes`` row with no runs, the two sides' models and personas (as a vote between
runs keeps them, so the leaderboard counts it) and ``lab`` saying what was compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from duet_core import catalog, config_text
from duet_core.errors import ConfigError
from duet_core.evals.judge import JUDGE_SUFFIXES, Judge, JudgeSpec, judge_from_data
from duet_core.evals.judging import Outcome, ProviderFor, judge_once
from duet_core.evals.votes import persona_label
from duet_core.lab.sources import LabSource
from duet_core.models import Run, Turn
from duet_core.store.evaluations import WINNERS, Vote

JUDGES_AT_ONCE = 4


def parse_judge_file(raw: bytes, name: str) -> JudgeSpec:
    """A judge file's bytes (``.json``, ``.yaml``, ``.yml``), as ``load_judge`` reads a path."""
    suffix = Path(name).suffix.lower()
    if suffix not in JUDGE_SUFFIXES:
        raise ConfigError(f"{name}: a judge file is .json, .yaml or .yml")
    data = config_text.parse(config_text.decode(raw, name), suffix != ".json")
    return judge_from_data(data, where=name)


def variant_conversation(run: Run, turn: Turn) -> Run:
    """``run`` as it would read with ``turn`` in its place (a copy; nothing saved)."""
    before = [t for t in run.turns if t.index < turn.index]
    return run.model_copy(update={"turns": [*before, turn], "evaluations": []})


def judge_variants(
    judge: Judge,
    run: Run,
    turns: Sequence[Turn | None],
    provider_for: ProviderFor,
    *,
    prices: catalog.PriceTable | None = None,
    who: str = "local",
) -> list[Outcome | None]:
    """One outcome per variant (None where there is no turn to judge), judged at once (up to
    ``JUDGES_AT_ONCE`` requests); per-turn judges read the variant as the turn, per-run
    judges the conversation ending with it. Stores nothing."""

    def one(turn: Turn | None) -> Outcome | None:
        if turn is None or not turn.content.strip():
            return None
        conversation = variant_conversation(run, turn)
        return judge_once(
            judge,
            conversation,
            turn if judge.per == "turn" else None,
            provider_for,
            prices=prices,
            who=who,
        )

    with ThreadPoolExecutor(
        max_workers=JUDGES_AT_ONCE, thread_name_prefix="duet-lab-judge"
    ) as pool:
        return list(pool.map(one, turns))


def _side(turn: Turn) -> dict[str, Any]:
    assert turn.config is not None
    return {
        "text": turn.content,
        "bot": turn.config.model_dump(mode="json", exclude_none=True),
    }


def cast_lab_vote(
    store: Any, source: LabSource, turn_a: Turn, turn_b: Turn, winner: str, voter: str
) -> Vote:
    """Record ``voter``'s vote between two variants of the same turn (``winner`` a, b or
    tie), with each side's model and persona; the only row written."""
    winner = (winner or "").strip().lower()
    if winner not in WINNERS:
        raise ConfigError(f"The winner is a, b or tie, not {winner!r}.")
    if turn_a is turn_b:
        raise ConfigError("A vote compares two different variants.")
    if turn_a.config is None or turn_b.config is None or turn_a.bot_index is None:
        raise ConfigError("Only bots' turns from the Lab can be voted on.")
    if (turn_a.index, turn_a.bot_index) != (turn_b.index, turn_b.bot_index):
        raise ConfigError("A vote compares two variants of the same turn.")
    vote = Vote(
        run_a=None,
        run_b=None,
        bot_index=turn_a.bot_index,
        winner=winner,  # type: ignore[arg-type]
        model_a=turn_a.config.model,
        model_b=turn_b.config.model,
        persona_a=persona_label(turn_a.config),
        persona_b=persona_label(turn_b.config),
        voter=(voter or "local").strip()[:200] or "local",
        lab={
            "source": source.label,
            "source_run": source.run.id if source.saved else None,
            "turn": turn_a.index,
            "a": _side(turn_a),
            "b": _side(turn_b),
        },
    )
    return store.evaluations.add_vote(vote)
