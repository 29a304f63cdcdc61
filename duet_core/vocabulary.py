"""Duet's words, each defined once: people's roles, run statuses, why a run ended (stop
reasons), why a turn ended (finish reasons), which runs can be continued, an experiment's
states, and each bot's colour.

The engine, the store, the exports, the command line and the pages all read these; nothing
else spells a status, a reason or a colour by hand. No Streamlit here: the colours are names
Streamlit's markdown understands (``:blue[...]``) plus the hex value charts and CSS need.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# --- people's roles ----------------------------------------------------------------------

ADMIN = "admin"  # everything: every user's runs, user management, the Prompt Lab
FACILITATOR = "facilitator"  # own runs and the Prompt Lab
USER = "user"  # own runs only
ROLES = (USER, FACILITATOR, ADMIN)
ROLE_NAMES = {USER: "users", FACILITATOR: "facilitators", ADMIN: "administrators"}

# --- run statuses ------------------------------------------------------------------------


class RunStatus(StrEnum):
    QUEUED = "queued"  # an experiment's run waiting for a worker (duet_core/batch)
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    ERROR = "error"
    INTERRUPTED = "interrupted"

    @property
    def live(self) -> bool:
        """A run in this status has a thread writing it (or had one, until recovery)."""
        return self in (RunStatus.RUNNING, RunStatus.PAUSED)

    @property
    def colour(self) -> str:
        """The colour of this status's badge (a Streamlit colour name)."""
        return STATUS_COLOURS[self]


LIVE_STATUSES = frozenset(s for s in RunStatus if s.live)

STATUS_COLOURS: dict[RunStatus, str] = {
    RunStatus.QUEUED: "gray",
    RunStatus.RUNNING: "green",
    RunStatus.PAUSED: "orange",
    RunStatus.COMPLETED: "blue",
    RunStatus.STOPPED: "gray",
    RunStatus.ERROR: "red",
    RunStatus.INTERRUPTED: "violet",
}

# A run that ended before its turns were done can be started again from where it ended.
# A completed run can too, but only when more turns are asked for (``can_continue``).
CONTINUABLE = frozenset({RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.ERROR})


def can_continue(status: RunStatus | str, extra_turns: int = 0) -> bool:
    """The one rule for Continue: a run cut short, or a completed one given more turns."""
    status = RunStatus(status)
    if status in CONTINUABLE:
        return True
    return status is RunStatus.COMPLETED and extra_turns > 0


# --- why a run ended ---------------------------------------------------------------------


class StopReason(StrEnum):
    """``Run.stop_reason``: what ended the run. Each is set in exactly one place."""

    MAX_TURNS = "max_turns"  # engine: the bots wrote the configured number of turns
    TOKEN_BUDGET = "token_budget"  # engine: max_total_tokens used up
    COST_BUDGET = "cost_budget"  # engine: max_cost_usd used up
    TIME_BUDGET = "time_budget"  # engine: max_seconds of running used up
    LOOP = "loop"  # engine: a reply repeated one of the last few (loop_window, loop_similarity)
    STOP_PHRASE = "stop_phrase"  # engine: a reply contained one of the stop phrases
    USER = "user"  # engine: a person pressed Stop (or Ctrl-C on the command line)
    ERROR = "error"  # engine: a provider or internal error; Run.error says which
    INTERRUPTED = "interrupted"  # store: the process running it went away
    BRANCH = "branch"  # lab: a branch saved from the Prompt Lab starts stopped, ready for Continue
    SHUTDOWN = "shutdown"  # engine: the server stopped (SIGTERM) while the run was going

    @property
    def text(self) -> str:
        """Human words that finish "Finished: ..." / "Ended: ..."."""
        return STOP_REASON_TEXT[self]


STOP_REASON_TEXT: dict[StopReason, str] = {
    StopReason.MAX_TURNS: "the turn limit was reached",
    StopReason.TOKEN_BUDGET: "the token budget was used up",
    StopReason.COST_BUDGET: "the cost budget was used up",
    StopReason.TIME_BUDGET: "the time limit was reached",
    StopReason.LOOP: "the bots were repeating themselves",
    StopReason.STOP_PHRASE: "a reply contained a stop phrase",
    StopReason.USER: "stopped by a person",
    StopReason.ERROR: "an error ended the run",
    StopReason.INTERRUPTED: "the process running it stopped",
    StopReason.BRANCH: "saved as a branch in the Prompt Lab",
    StopReason.SHUTDOWN: "the server shut down",
}


def describe_stop_reason(reason: str | None, default: str = "done") -> str:
    """The human text of a stored stop reason; an unknown one (an older database) as is."""
    if not reason:
        return default
    try:
        return StopReason(reason).text
    except ValueError:
        return reason


# --- experiments ---------------------------------------------------------------------------


class ExperimentStatus(StrEnum):
    """An experiment's state (duet_core/batch): whether workers start its queued runs."""

    ACTIVE = "active"  # workers claim its queued runs
    PAUSED = "paused"  # a person paused it: no new run starts; running ones finish
    BUDGET = "budget"  # its budget_usd was spent: no new run starts (resume with a bigger one)
    CANCELLED = "cancelled"  # a person cancelled it: queued runs stopped, running ones stopped
    COMPLETED = "completed"  # every run has ended (some may have failed)

    @property
    def startable(self) -> bool:
        """Workers may start its queued runs."""
        return self is ExperimentStatus.ACTIVE

    @property
    def text(self) -> str:
        return EXPERIMENT_STATUS_TEXT[self]


EXPERIMENT_STATUS_TEXT: dict[ExperimentStatus, str] = {
    ExperimentStatus.ACTIVE: "running its queue",
    ExperimentStatus.PAUSED: "paused: no new run starts",
    ExperimentStatus.BUDGET: "stopped starting runs: its budget is spent",
    ExperimentStatus.CANCELLED: "cancelled",
    ExperimentStatus.COMPLETED: "every run has ended",
}


# --- why a turn ended --------------------------------------------------------------------


class FinishReason(StrEnum):
    """``Turn.finish_reason``. The providers map their own words onto ``STOP`` and
    ``LENGTH``; any other word a provider sends (OpenAI ``content_filter``, Anthropic
    ``refusal``) is kept as the provider wrote it and shown as it is."""

    STOP = "stop"  # provider: the model finished its reply
    LENGTH = "length"  # provider: max_tokens reached, the reply is cut
    STOPPED = "stopped"  # engine: a person pressed Stop during the turn
    ERROR = "error"  # engine: the provider failed during the turn
    PERSON = "person"  # engine: a person's interjection, not a model reply


# Shown in a turn's caption; a normal ``stop`` and a person's turn show nothing.
FINISH_LABELS: dict[str, str] = {
    FinishReason.STOPPED: "⏹ stopped",
    FinishReason.ERROR: "⚠ error",
    FinishReason.LENGTH: "✂ length (max tokens reached)",
    "content_filter": "⚠ content filter",
    "refusal": "⚠ refused",
}


def finish_label(reason: str | None) -> str | None:
    """The caption words for a turn's finish reason; None when there is nothing to say."""
    if not reason or reason in (FinishReason.STOP, FinishReason.PERSON):
        return None
    return FINISH_LABELS.get(reason, reason)


# --- colours -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Colour:
    """One colour two ways: Streamlit's markdown name and the hex value for charts/CSS."""

    name: str  # ``:blue[...]``, ``st.badge(color=...)``
    hex: str  # "#1c83e1"

    def rgb(self) -> str:
        """``"28, 131, 225"``: for ``rgb(...)`` / ``rgba(..., alpha)`` in static CSS."""
        h = self.hex.lstrip("#")
        return ", ".join(str(int(h[i : i + 2], 16)) for i in (0, 2, 4))


BOT_COLOURS = (Colour("blue", "#1c83e1"), Colour("orange", "#ff8700"))  # bot 0, bot 1
PERSON_COLOUR = Colour("gray", "#808080")  # a person's interjection


def bot_colour(bot_index: int | None) -> Colour:
    """A bot's colour (names, badges, turn cards, charts); gray for a person."""
    if bot_index is None:
        return PERSON_COLOUR
    return BOT_COLOURS[bot_index % len(BOT_COLOURS)]
