"""When a run ends by itself (docs/design.md, "Experiments": stop conditions): its turn limit,
token and cost budgets, wall-clock budget (``max_seconds``), a stop phrase, or the bots
repeating themselves (``loop_window``). The engine asks ``reason_to_finish`` before each turn
and ``reason_after_turn`` after each bot reply; the first condition met is the stop reason.

Repetition: a reply is normalized (lower case, words only, so punctuation, case and spacing do
not count) and compared with each of the last ``loop_window`` bot replies. It repeats one when
the texts are equal, or when their word trigrams overlap by at least ``loop_similarity``
(Jaccard: shared trigrams over all trigrams of the two). At the default 0.9 a long reply
that differs from an earlier one in a word or two is a repeat; a short one must match
exactly; two replies on the same subject in different words are not.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from duet_core.models import RunConfig, Turn
from duet_core.vocabulary import StopReason

LOOP_WINDOW = 4  # the bot replies compared when loop detection is turned on (the page's default)
SHINGLE = 3  # words per n-gram
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(ws: Sequence[str]) -> set[tuple[str, ...]]:
    if len(ws) < SHINGLE:
        return {tuple(ws)} if ws else set()
    return {tuple(ws[i : i + SHINGLE]) for i in range(len(ws) - SHINGLE + 1)}


def similarity(a: str, b: str) -> float:
    """1.0 for texts equal once normalized; otherwise the Jaccard overlap of their word
    trigrams (0.0 when either has no words)."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    if wa == wb:
        return 1.0
    sa, sb = shingles(wa), shingles(wb)
    return len(sa & sb) / len(sa | sb)


def repeats(text: str, earlier: Sequence[str], threshold: float) -> bool:
    """Whether ``text`` repeats one of ``earlier`` (at least ``threshold`` similar)."""
    return any(similarity(text, e) >= threshold for e in earlier)


class WallClock:
    """Seconds a run has spent running in this process; paused time does not count. Not
    thread-safe: the run's own thread calls it."""

    def __init__(self) -> None:
        self._spent = 0.0
        self._since: float | None = None

    def run(self) -> None:
        if self._since is None:
            self._since = time.monotonic()

    def hold(self) -> None:
        if self._since is not None:
            self._spent += time.monotonic() - self._since
            self._since = None

    @property
    def seconds(self) -> float:
        running = 0.0 if self._since is None else time.monotonic() - self._since
        return self._spent + running

    def left(self, budget: float) -> float:
        return budget - self.seconds


def reason_to_finish(
    config: RunConfig, bot_turns: int, tokens: int, cost: float | None, seconds: float
) -> StopReason | None:
    """Before a turn: a limit already reached."""
    if bot_turns >= config.max_turns:
        return StopReason.MAX_TURNS
    if config.max_total_tokens and tokens >= config.max_total_tokens:
        return StopReason.TOKEN_BUDGET
    if config.max_cost_usd and cost is not None and cost >= config.max_cost_usd:
        return StopReason.COST_BUDGET
    if config.max_seconds and seconds >= config.max_seconds:
        return StopReason.TIME_BUDGET
    return None


def reason_after_turn(config: RunConfig, turns: Sequence[Turn]) -> StopReason | None:
    """After a bot reply (the last of ``turns``): a stop phrase in it, or a repeat."""
    turn = turns[-1]
    text = turn.content.lower()
    if any(p.lower() in text for p in config.stop_phrases):
        return StopReason.STOP_PHRASE
    if config.loop_window and turn.bot_index is not None:
        earlier = [t.content for t in turns[:-1] if t.bot_index is not None]
        if repeats(turn.content, earlier[-config.loop_window :], config.loop_similarity):
            return StopReason.LOOP
    return None
