"""A judge: a bot and a rubric (docs/design.md, "Evaluation").

A judge file (JSON or YAML)::

    {"bot": {BotConfig}, "rubric": "NAME@VERSION", "per": "run" | "turn"}
    {"bot": {...}, "rubric_messages": [{"role": "system", "content": "..."}, ...], "per": "turn",
     "criteria": ["clarity", "honesty"], "name": "clarity-judge"}

The rubric is a prompt template (the prompt library's, or inline) whose variables are
``transcript`` (the conversation as text, ``Name: text`` per turn, a blank line between turns),
``topic``, and in per-turn mode ``turn`` (the judged turn's text), ``speaker`` (its bot's name)
and ``turn_index`` (its ``index``). Bots are named as in the run, never by model: a judge does
not see which model spoke. Its ``system`` messages are the judge's system prompt, followed by
the answer's shape in words (``verdict.reply_instruction``); ``human``/``ai`` messages are the
conversation sent, which must start and end with ``human``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from duet_core import config_text
from duet_core.errors import ConfigError
from duet_core.evals.verdict import reply_instruction, reply_schema
from duet_core.models import BotConfig, PromptMessage, Run, Turn, validated
from duet_core.providers.base import Message
from duet_core.run.bot_view import merge_roles, request_messages
from duet_core.store.prompts import PromptLibrary, check_messages
from duet_core.templates import PROVIDER_ROLE, render_messages, template_variables

RUBRIC_REF = re.compile(r"^(?P<name>[^@\s]+)(?:@v?(?P<version>\d+|latest))?$")
CRITERION = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"
JUDGE_SUFFIXES = (".json", ".yaml", ".yml")
VARIABLES = ("transcript", "topic", "turn", "speaker", "turn_index")


class JudgeSpec(BaseModel):
    """A judge file as written."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    bot: BotConfig
    rubric: str | None = None  # "NAME@VERSION" (NAME alone: the latest, pinned when judging)
    rubric_messages: list[PromptMessage] | None = None
    per: Literal["run", "turn"] = "run"
    criteria: (
        Annotated[
            list[Annotated[str, Field(pattern=CRITERION)]], Field(min_length=1, max_length=10)
        ]
        | None
    ) = None

    @field_validator("rubric")
    @classmethod
    def _rubric_ref(cls, v: str | None) -> str | None:
        if v is not None and not RUBRIC_REF.match(v.strip()):
            raise ValueError("write the rubric as NAME@VERSION, e.g. helpfulness@2")
        return v.strip() if v is not None else None

    @field_validator("criteria")
    @classmethod
    def _distinct(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("each criterion is named once")
        return v

    @model_validator(mode="after")
    def _one_rubric(self) -> JudgeSpec:
        if (self.rubric is None) == (self.rubric_messages is None):
            raise ValueError(
                "give the rubric one way: rubric (a saved template, NAME@VERSION) or "
                "rubric_messages (inline messages), not both or neither"
            )
        return self


def load_judge(path: str | Path) -> JudgeSpec:
    """A judge file (``.json``, ``.yaml``); ``ConfigError`` naming what is wrong."""
    path = Path(path)
    if path.suffix.lower() not in JUDGE_SUFFIXES:
        raise ConfigError(f"{path}: a judge file is .json, .yaml or .yml")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"Cannot read {path}: {e.strerror or e}") from None
    data = config_text.parse(config_text.decode(raw, str(path)), path.suffix.lower() != ".json")
    return judge_from_data(data, where=str(path))


def judge_from_data(data: Any, where: str = "the judge") -> JudgeSpec:
    try:
        return validated(JudgeSpec, data)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


@dataclass(frozen=True)
class Judge:
    """A judge ready to send: its rubric's messages read (a saved one's version pinned)."""

    name: str
    bot: BotConfig
    per: Literal["run", "turn"]
    messages: list[PromptMessage]
    criteria: list[str] | None = None
    rubric: str | None = None  # "NAME@V" of a saved rubric; None when inline

    @property
    def schema(self) -> dict[str, Any]:
        return reply_schema(self.criteria)

    def variables(self, run: Run, turn: Turn | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {"transcript": transcript_text(run), "topic": run.config.topic}
        if turn is not None:
            values.update(turn=turn.content, speaker=turn.bot_name, turn_index=turn.index)
        return values

    def request(self, run: Run, turn: Turn | None = None) -> tuple[str, list[Message]]:
        """The system prompt and messages sent to judge ``run`` (or its ``turn``)."""
        rendered = render_messages(self.messages, self.variables(run, turn))
        system = "\n\n".join(m["content"] for m in rendered if m["role"] == "system")
        system = f"{system}\n\n{reply_instruction(self.criteria)}".strip()
        messages = merge_roles(
            [(PROVIDER_ROLE[m["role"]], m["content"]) for m in rendered if m["role"] != "system"]
        )
        return system, messages

    def record(self, run: Run, turn: Turn | None = None) -> dict[str, Any]:
        """What is stored as the evaluation's request: the judge, the rubric and the exact
        messages and answer schema sent."""
        system, messages = self.request(run, turn)
        return {
            "judge": self.name,
            "rubric": self.rubric,
            "per": self.per,
            "bot": self.bot.model_dump(mode="json", exclude_none=True),
            "messages": request_messages(system, messages),
            "schema": self.schema,
        }


def transcript_text(run: Run) -> str:
    """The conversation as a judge reads it: ``Name: text`` per turn with text."""
    return "\n\n".join(f"{t.bot_name}: {t.content.strip()}" for t in run.turns if t.content.strip())


def _check_roles(messages: list[PromptMessage], where: str) -> None:
    roles = [PROVIDER_ROLE[m.role] for m in messages if m.role != "system"]
    merged = [r for i, r in enumerate(roles) if i == 0 or roles[i - 1] != r]
    if not merged or merged[0] != "user" or merged[-1] != "user":
        raise ConfigError(
            f"{where}: the rubric's conversation must start and end with a human message "
            "(put {{ transcript }} in one)"
        )


def resolve(spec: JudgeSpec, library: PromptLibrary | None) -> Judge:
    """Read the rubric (a saved one pinned to its version) and check it fits the judge's mode;
    ``ConfigError`` (``PromptNotFound``) naming the problem."""
    label: str | None = None
    if spec.rubric is not None:
        m = RUBRIC_REF.match(spec.rubric)
        assert m is not None  # checked by JudgeSpec
        version = m.group("version")
        if library is None:
            raise ConfigError("A saved rubric needs the prompt library: give a database.")
        found = library.get(
            m.group("name"), int(version) if version and version != "latest" else None
        )
        messages, label = list(found.messages), f"{found.name}@{found.version}"
    else:
        messages = check_messages(spec.rubric_messages)
    where = f"rubric {label}" if label else "rubric_messages"
    used = template_variables(messages)
    if "transcript" not in used and "turn" not in used:
        raise ConfigError(f"{where}: put {{{{ transcript }}}} (or {{{{ turn }}}}) in the rubric")
    if spec.per == "turn" and "turn" not in used:
        raise ConfigError(f"{where}: judging per turn needs {{{{ turn }}}} in the rubric")
    if spec.per == "run" and "turn" in used:
        raise ConfigError(f"{where}: {{{{ turn }}}} is empty when judging per run; use per: turn")
    _check_roles(messages, where)
    name = spec.name or label or "judge"
    return Judge(name, spec.bot, spec.per, messages, spec.criteria, label)
