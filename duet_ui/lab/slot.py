"""What the Lab shows a session: one result at a time of each kind (a variants experiment, a
grid of many conversations), kept in the session so reruns draw it again, and stopped when a
new question replaces it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import streamlit as st


class Job(Protocol):
    def start(self) -> Any: ...

    def stop(self) -> Any: ...


class Asked(Protocol):
    asked: tuple  # the question (sources, action, turn) its results answer


S = TypeVar("S", bound=Asked)


@dataclass(frozen=True)
class Slot(Generic[S]):
    """The session's one ``S`` under ``key``; ``job(s)`` is what runs for it."""

    key: str
    job: Callable[[S], Job]

    def current(self, asked: tuple) -> S | None:
        """What is shown, if it answers ``asked``."""
        shown: S | None = st.session_state.get(self.key)
        return shown if shown is not None and shown.asked == asked else None

    def start(self, shown: S) -> None:
        """Show ``shown`` from now on, stopping the one it replaces if still running."""
        self.stop_current()
        st.session_state[self.key] = shown
        self.job(shown).start()

    def stop_current(self) -> None:
        shown: S | None = st.session_state.get(self.key)
        if shown is not None:
            self.job(shown).stop()
