"""Rubrics offered without saving one first: the whole run, or each turn. Inline
``rubric_messages`` of a judge file (``duet_core.evals.judge``); a template saved in the prompt
library is offered beside them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Rubric:
    name: str  # the judge's name on its scores
    label: str  # in the picker
    per: Literal["run", "turn"]
    messages: tuple[dict[str, str], ...]


BUILTIN = {
    "builtin:run": Rubric(
        "overall",
        "Built-in: the whole run",
        "run",
        (
            {
                "role": "system",
                "content": "You judge a conversation between two bots on this topic: "
                "{{ topic }}. Judge how well they discussed it: substance, honesty, and "
                "whether they answered each other rather than talking past each other.",
            },
            {
                "role": "human",
                "content": "The conversation:\n\n{{ transcript }}\n\n"
                "Score it from 1 (poor) to 10 (excellent).",
            },
        ),
    ),
    "builtin:turn": Rubric(
        "turn quality",
        "Built-in: each turn",
        "turn",
        (
            {
                "role": "system",
                "content": "You judge one turn of a conversation between two bots on this "
                "topic: {{ topic }}. Judge the turn's substance and whether it answers what "
                "came before it.",
            },
            {
                "role": "human",
                "content": "The whole conversation:\n\n{{ transcript }}\n\n"
                "The turn to judge, by {{ speaker }}:\n\n{{ turn }}\n\n"
                "Score this turn from 1 (poor) to 10 (excellent).",
            },
        ),
    ),
}
