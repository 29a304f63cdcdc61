"""What a judge must answer, and the strict reading of its answer.

A judge answers one JSON object: ``{"score": 1-10, "reason": "..."}``, or, when its rubric names
criteria, one such object per criterion: ``{"clarity": {"score": 7, "reason": "..."}, ...}``.
``reply_schema`` is that shape as a JSON Schema (sent where the provider takes one: OpenAI's
``response_format``, Anthropic's ``output_config.format``); ``reply_instruction`` says it in
words, for every provider. ``parse_verdicts`` reads an answer strictly: one JSON object (a
single Markdown code fence around it is allowed), exactly the expected keys, a whole-number
score from 1 to 10, a text reason. Anything else is ``BadVerdict`` with one line that says
what was wrong; it is never stored as a score.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from duet_core.errors import DuetError

LOWEST, HIGHEST = 1, 10
SHOWN = 80  # characters of a bad answer quoted in its error
FENCE = re.compile(r"^```[A-Za-z]*\s*\n(?P<body>.*?)\n?```$", re.DOTALL)


class BadVerdict(DuetError):
    """The judge's answer is not a valid verdict (not JSON, a missing key, a score out of
    range); the message is one line."""


@dataclass(frozen=True, slots=True)
class Verdict:
    criterion: str | None  # None: the rubric's only score
    score: int
    reason: str


def _score_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "description": "a whole number from 1 to 10"},
            "reason": {"type": "string"},
        },
        "required": ["score", "reason"],
        "additionalProperties": False,
    }


def reply_schema(criteria: list[str] | None = None) -> dict[str, Any]:
    """The answer's JSON Schema. No ``minimum``/``maximum``: Anthropic's structured outputs
    refuse them; the range is in the description and checked when parsing."""
    if not criteria:
        return _score_schema()
    return {
        "type": "object",
        "properties": {name: _score_schema() for name in criteria},
        "required": list(criteria),
        "additionalProperties": False,
    }


def reply_instruction(criteria: list[str] | None = None) -> str:
    """The answer's shape in words, added to the judge's system prompt."""
    one = '{"score": <a whole number from 1 to 10>, "reason": "<one or two sentences>"}'
    if not criteria:
        return f"Answer with one JSON object and nothing else: {one}"
    shape = ", ".join(f'"{name}": {one}' for name in criteria)
    return (
        "Score each criterion from 1 to 10. Answer with one JSON object and nothing else: "
        f"{{{shape}}}"
    )


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat[:SHOWN] + ("…" if len(flat) > SHOWN else ""))


def _one(data: Any, where: str) -> tuple[int, str]:
    if not isinstance(data, dict):
        raise BadVerdict(f"{where}is not a JSON object with score and reason")
    missing = [k for k in ("score", "reason") if k not in data]
    if missing:
        raise BadVerdict(f"{where}has no {' and no '.join(repr(k) for k in missing)}")
    extra = sorted(set(data) - {"score", "reason"})
    if extra:
        raise BadVerdict(f"{where}has unexpected keys: {', '.join(map(repr, extra))}")
    score, reason = data["score"], data["reason"]
    if isinstance(score, bool) or not isinstance(score, int):
        raise BadVerdict(f"{where}score {json.dumps(score)} is not a whole number from 1 to 10")
    if not LOWEST <= score <= HIGHEST:
        raise BadVerdict(f"{where}score {score} is outside {LOWEST}-{HIGHEST}")
    if not isinstance(reason, str):
        raise BadVerdict(f"{where}reason is not text")
    return score, reason.strip()


def parse_verdicts(
    text: str, criteria: list[str] | None = None, *, cut_off: bool = False
) -> list[Verdict]:
    """The verdicts in a judge's answer (one, or one per criterion in ``criteria``' order).
    ``cut_off``: the answer stopped at max_tokens (said in the error when it is not JSON)."""
    body = text.strip()
    if not body:
        raise BadVerdict("The judge's answer is empty")
    fenced = FENCE.match(body)
    if fenced:
        body = fenced.group("body").strip()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as e:
        where = f" ({e.msg} at line {e.lineno} column {e.colno})" if hasattr(e, "msg") else ""
        hint = "; it was cut off at max_tokens: raise the judge's max_tokens" if cut_off else ""
        raise BadVerdict(
            f"The judge's answer is not valid JSON{where}: {_quote(text)}{hint}"
        ) from None
    if not criteria:
        score, reason = _one(data, "The judge's answer ")
        return [Verdict(None, score, reason)]
    if not isinstance(data, dict):
        raise BadVerdict(f"The judge's answer is not a JSON object of criteria: {_quote(text)}")
    missing = [c for c in criteria if c not in data]
    if missing:
        raise BadVerdict(f"The judge's answer has no score for {', '.join(map(repr, missing))}")
    extra = sorted(set(data) - set(criteria))
    if extra:
        raise BadVerdict(f"The judge's answer has unknown criteria: {', '.join(map(repr, extra))}")
    out = []
    for name in criteria:
        score, reason = _one(data[name], f"The judge's answer for {name!r} ")
        out.append(Verdict(name, score, reason))
    return out
