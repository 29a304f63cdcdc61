"""People's ratings: a score per turn, and a blind pairwise vote between two runs.

A vote is about one bot: which run's bot ``bot_index`` did better, ``a``, ``b`` or ``tie``. By
default that is the bot whose settings differ between the two runs (a sweep over
``bots[1].model`` compares bot 1). The vote keeps that bot's model and persona in each run, so
the leaderboard ranks either. A persona is named by its template (``critic v2``), else by its
system prompt's first words, else ``(no persona)``.

Blind: a page shows the two runs as "A" and "B" in an order it picked (``blind_order``) and
says which was which only once the vote is in; the command line and the API take run ids.
"""

from __future__ import annotations

import hashlib
import random

from duet_core.errors import ConfigError, NotFound
from duet_core.models import BotConfig, Run
from duet_core.store import Store
from duet_core.store.evaluations import WINNERS, TurnRating, Vote

PERSONA_CHARS = 60
IGNORED = {"name", "avatar"}  # how a bot is labelled, not how it behaves


def persona_label(bot: BotConfig) -> str:
    """The persona a bot plays, named for a leaderboard."""
    if bot.prompt is not None:
        return bot.prompt.label
    if bot.persona is not None:
        digest = hashlib.sha256(
            "\n".join(f"{m.role}:{m.content}" for m in bot.persona).encode()
        ).hexdigest()
        return f"inline persona {digest[:8]}"
    text = " ".join(bot.system_prompt.split())
    if not text:
        return "(no persona)"
    return text if len(text) <= PERSONA_CHARS else text[: PERSONA_CHARS - 1] + "…"


def _settings(bot: BotConfig) -> dict:
    return {k: v for k, v in bot.model_dump().items() if k not in IGNORED}


def differing_bot(run_a: Run, run_b: Run) -> int:
    """The one bot whose settings differ between the two runs; ``ConfigError`` otherwise."""
    differ = [
        i for i in (0, 1) if _settings(run_a.config.bots[i]) != _settings(run_b.config.bots[i])
    ]
    if len(differ) == 1:
        return differ[0]
    if not differ:
        raise ConfigError(
            "Both bots have the same settings in the two runs: say which bot the vote is "
            "about (--bot 0 or 1)."
        )
    raise ConfigError(
        "Both bots differ between the two runs: say which one the vote is about (--bot 0 or 1)."
    )


def cast_vote(
    store: Store,
    run_a: str,
    run_b: str,
    winner: str,
    voter: str,
    bot_index: int | None = None,
) -> Vote:
    """Record ``voter``'s vote between two saved runs (``winner`` a, b or tie)."""
    winner = (winner or "").strip().lower()
    if winner not in WINNERS:
        raise ConfigError(f"The winner is a, b or tie, not {winner!r}.")
    if run_a == run_b:
        raise ConfigError("A vote compares two different runs.")
    if bot_index is not None and bot_index not in (0, 1):
        raise ConfigError(f"The bot is 0 or 1, not {bot_index}.")
    found = {}
    for run_id in (run_a, run_b):
        run = store.get_run(run_id)
        if run is None:
            raise NotFound(f"No saved run with id '{run_id}'. List the saved runs to find its id.")
        found[run_id] = run
    a, b = found[run_a], found[run_b]
    index = differing_bot(a, b) if bot_index is None else bot_index
    bot_a, bot_b = a.config.bots[index], b.config.bots[index]
    vote = Vote(
        run_a=run_a,
        run_b=run_b,
        bot_index=index,
        winner=winner,  # type: ignore[arg-type]
        model_a=bot_a.model,
        model_b=bot_b.model,
        persona_a=persona_label(bot_a),
        persona_b=persona_label(bot_b),
        voter=(voter or "local").strip()[:200] or "local",
    )
    return store.evaluations.add_vote(vote)


def rate_turn(
    store: Store, run_id: str, turn: int, score: int, rater: str, note: str = ""
) -> TurnRating:
    """A person's score (1-10) for turn ``turn`` (its index) of a saved run."""
    run = store.get_run(run_id)
    if run is None:
        raise NotFound(f"No saved run with id '{run_id}'. List the saved runs to find its id.")
    if not any(t.index == turn for t in run.turns):
        raise ConfigError(
            f"Run {run_id} has no turn {turn} (its turns are 0 to {len(run.turns) - 1})."
        )
    return store.evaluations.rate_turn(run_id, turn, score, rater, note)


def blind_order(run_a: str, run_b: str, rng: random.Random | None = None) -> tuple[str, str]:
    """The two runs in the order a blind vote shows them as A and B (random)."""
    pair = [run_a, run_b]
    (rng or random.SystemRandom()).shuffle(pair)
    return pair[0], pair[1]
