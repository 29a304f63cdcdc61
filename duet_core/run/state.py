"""A run as its events build it: the one fold of run events, used by the engine, the page and
the command line.

``RunState.apply(event)`` changes the state in O(1) for every event kind except ``Snapshot``
(which replaces it): a text delta appends to the turn in progress, a finished turn is appended
and the running totals (tokens, cost, bot turns, who spoke last, the settings each bot used)
move by that turn alone. Nothing here grows with the length of the run per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from duet_core.models import BotConfig, Run, Turn, utcnow
from duet_core.run.events import (
    BotUpdated,
    Event,
    RunError,
    Snapshot,
    StatusChanged,
    TextDelta,
    ThinkingDelta,
    TurnFinished,
    TurnStarted,
)
from duet_core.vocabulary import RunStatus


@dataclass(eq=False)
class RunState:
    """``run`` (its ``turns`` are the finished turns), the turn in progress and totals."""

    run: Run
    partial: Turn | None = None  # the turn in progress; its text is in ``text``/``thinking``
    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    pending_bots: tuple[BotConfig, BotConfig] | None = None  # what each bot uses next
    used: list[BotConfig | None] = field(default_factory=lambda: [None, None])
    tokens: int = 0
    bot_turns: int = 0
    last_speaker: int | None = None  # bot_index of the last finished bot turn
    generation: int = 0  # bumped by every Snapshot: whatever was drawn from before is stale
    _cost: float | None = 0.0

    @classmethod
    def of(cls, run: Run, pending_bots: tuple[BotConfig, BotConfig] | None = None) -> RunState:
        """The state of ``run`` (its turns finished); O(turns) once."""
        state = cls(run=run)
        state._recount()
        state.pending_bots = pending_bots or state.bots_in_use()
        return state

    # --- reading -------------------------------------------------------------------------

    @property
    def status(self) -> RunStatus:
        return self.run.status

    @property
    def live(self) -> bool:
        return self.run.status.live

    @property
    def cost(self) -> float | None:
        """The bots' turns' cost so far; None when any of them is unknown."""
        return None if self._cost is None else round(self._cost, 8)

    @property
    def turn_number(self) -> int:
        """ "Turn x of N": bot turns finished, plus the one being written, capped at N."""
        writing = self.partial is not None and not self.partial.by_person
        return min(self.bot_turns + writing, self.run.config.max_turns)

    @property
    def next_speaker(self) -> int:
        """The bot that speaks next: the first speaker, then they alternate."""
        if self.last_speaker is None:
            return self.run.config.first_speaker
        return 1 - self.last_speaker

    def bots_in_use(self) -> tuple[BotConfig, BotConfig]:
        """The settings each bot used on its last turn (its configured ones before it spoke)."""
        bots = self.run.config.bots
        return (self.used[0] or bots[0], self.used[1] or bots[1])

    def partial_turn(self) -> Turn | None:
        """The turn in progress with the text so far (a copy)."""
        if self.partial is None:
            return None
        return self.partial.model_copy(
            update={"content": "".join(self.text), "thinking": "".join(self.thinking)}
        )

    def snapshot(self) -> Snapshot:
        """A copy for a new viewer (the turn list is copied, the turns are shared)."""
        run = self.run.model_copy(update={"turns": list(self.run.turns)})
        return Snapshot(run=run, partial=self.partial_turn(), pending_bots=self.bots_next())

    def bots_next(self) -> tuple[BotConfig, BotConfig]:
        return self.pending_bots or self.bots_in_use()

    # --- applying events -----------------------------------------------------------------

    def apply_all(self, events: list[Event] | tuple[Event, ...]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            if self.partial is not None and event.turn_index == self.partial.index:
                self.text.append(event.text)
        elif isinstance(event, ThinkingDelta):
            if self.partial is not None and event.turn_index == self.partial.index:
                self.thinking.append(event.text)
        elif isinstance(event, TurnStarted):
            self.partial = Turn(
                index=event.turn_index,
                bot_index=event.bot_index,
                bot_name=event.bot_name,
                config=event.config,
            )
            self.text, self.thinking = [], []
        elif isinstance(event, TurnFinished):
            self._add(event.turn)
            if self.partial is not None and self.partial.index == event.turn.index:
                self.partial, self.text, self.thinking = None, [], []
        elif isinstance(event, BotUpdated):
            bots = list(self.bots_next())
            bots[event.bot_index] = event.config
            self.pending_bots = (bots[0], bots[1])
        elif isinstance(event, StatusChanged):
            run = self.run
            run.status, run.stop_reason, run.error = event.status, event.stop_reason, event.error
            if event.status.live:
                run.finished_at = None
            else:
                run.finished_at = event.finished_at or run.finished_at or utcnow()
                self.partial, self.text, self.thinking = None, [], []
        elif isinstance(event, RunError):
            self.run.error = event.message
        elif isinstance(event, Snapshot):
            self.run = event.run
            self.partial = event.partial
            # (no empty chunk: a turn without thinking must not look as if it had some)
            self.text = [event.partial.content] if event.partial and event.partial.content else []
            self.thinking = (
                [event.partial.thinking] if event.partial and event.partial.thinking else []
            )
            if event.partial is not None:
                self.partial = event.partial.model_copy(update={"content": "", "thinking": ""})
            self._recount()
            self.pending_bots = event.pending_bots
            self.generation += 1

    def _add(self, turn: Turn) -> None:
        self.run.turns.append(turn)
        self.tokens += (turn.input_tokens or 0) + (turn.output_tokens or 0)
        if turn.by_person:
            return
        self.bot_turns += 1
        self.last_speaker = turn.bot_index
        if turn.config is not None and turn.bot_index in (0, 1):
            self.used[turn.bot_index] = turn.config  # type: ignore[index]
        cost = turn.cost_usd
        self._cost = None if cost is None or self._cost is None else self._cost + cost

    def _recount(self) -> None:
        self.tokens, self.bot_turns, self.last_speaker = 0, 0, None
        self.used, self._cost = [None, None], 0.0
        turns, self.run.turns = self.run.turns, []
        for turn in turns:
            self._add(turn)
