"""The offline demo provider: no network, no key, deterministic for a given seed.

It answers in character: it takes its persona from the system prompt and picks up the
partner's last message. It says plainly, once per bot, that it is the offline demo.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

from duet_core.catalog import estimate_tokens
from duet_core.models import BotConfig
from duet_core.providers.base import (
    Chunk,
    ChunkStream,
    Finish,
    Message,
    Provider,
    TextDelta,
    Usage,
)

NOTICE = (
    "(Offline demo: this reply is generated locally, not by a real model. "
    "Set OPENAI_API_KEY or ANTHROPIC_API_KEY to talk to one.)"
)

OPENERS = [
    "That's a fair point.",
    "Interesting.",
    "I see it differently.",
    "Let me push back a little.",
    "Yes, and there is more to it.",
    "Hmm, I'm not convinced.",
    "Good question.",
]
STANCES = [
    "What strikes me is how much depends on the details.",
    "I think the evidence points the other way.",
    "The simplest explanation is often the right one here.",
    "We should separate what we know from what we assume.",
    "History suggests people underestimate how slowly this changes.",
    "There is a trade-off nobody likes to name.",
    "It helps to ask who benefits.",
]
FOLLOW_UPS = [
    "What would change your mind?",
    "Can you give me a concrete example?",
    "Where do you think the limit is?",
    "How would you test that?",
    "Would you still say so in ten years?",
    "What's the strongest argument against your view?",
]

WORD = re.compile(r"\S+\s*")


def persona_of(system_prompt: str) -> str:
    """A short description of who the bot plays, from the first sentence of its prompt."""
    first = re.split(r"(?<=[.!?])\s", system_prompt.strip(), maxsplit=1)[0].strip()
    first = re.sub(r"^(you are|you're|act as|play)\s+", "", first, flags=re.I).rstrip(".!?")
    first = re.sub(r"^(A|An|The)\b", lambda m: m.group(1).lower(), first)
    return first[:80] or "a curious conversationalist"


def lower_first(sentence: str) -> str:
    return sentence if sentence.startswith("I ") else sentence[0].lower() + sentence[1:]


def key_phrase(message: str) -> str:
    """The first clause of the last paragraph of the partner's message, cut to a few words."""
    text = message.replace(NOTICE, "").strip().split("\n\n")[-1]
    clause = re.split(r"[.!?;:\n]", text, maxsplit=1)[0]
    words = clause.split()
    return " ".join(words[:8]) + ("…" if len(words) > 8 else "")


class DemoProvider(Provider):
    name = "demo"

    def __init__(self, tokens_per_second: float = 40.0, seed: int | None = None):
        self.tokens_per_second = tokens_per_second
        self.seed = seed

    def reply(self, system: str, messages: list[Message], bot: BotConfig) -> str:
        last = messages[-1]["content"] if messages else ""
        seed = f"{self.seed}|{bot.name}|{len(messages)}|{last}"
        rng = random.Random(seed)
        first_reply = not any(m["role"] == "assistant" for m in messages)
        sentences = [
            rng.choice(OPENERS),
            f"Speaking as {persona_of(system)}:",
            f"you said \u201c{key_phrase(last)}\u201d" if last else "",
            "and " + lower_first(rng.choice(STANCES)),
        ]
        if bot.temperature and bot.temperature > 1.0:
            sentences.append(rng.choice(STANCES))
        sentences.append(rng.choice(FOLLOW_UPS))
        text = " ".join(s for s in sentences if s)
        return f"{NOTICE}\n\n{text}" if first_reply else text

    def json_reply(self, messages: list[Message], bot: BotConfig, schema: dict[str, Any]) -> str:
        """A made-up value that fits ``schema`` (objects, integers, strings): an offline judge
        answers with a score, the same one for the same request."""
        last = messages[-1]["content"] if messages else ""
        rng = random.Random(f"{self.seed}|{bot.name}|{len(messages)}|{last}")

        def value(s: dict[str, Any]) -> Any:
            kind = s.get("type")
            if kind == "object":
                return {k: value(v) for k, v in s.get("properties", {}).items()}
            if kind in ("integer", "number"):
                return rng.randint(int(s.get("minimum", 4)), int(s.get("maximum", 9)))
            if kind == "boolean":
                return rng.random() < 0.5
            return f"Offline demo judge. {rng.choice(STANCES)}"

        return json.dumps(value(schema))

    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        return self._stream(lambda: self.reply(system, messages, bot), system, messages, bot)

    def open_json(
        self, system: str, messages: list[Message], bot: BotConfig, schema: dict[str, Any]
    ) -> ChunkStream:
        return self._stream(lambda: self.json_reply(messages, bot, schema), system, messages, bot)

    def _stream(
        self, text: Callable[[], str], system: str, messages: list[Message], bot: BotConfig
    ) -> ChunkStream:
        stream: ChunkStream

        def chunks() -> Iterator[Chunk]:
            tokens = WORD.findall(text())
            delay = 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0
            finish = "stop"
            if len(tokens) > bot.max_tokens:
                tokens, finish = tokens[: bot.max_tokens], "length"
            for token in tokens:
                if delay and stream.wait_closed(delay):
                    return
                yield TextDelta(token)
            prompt = system + "".join(m["content"] for m in messages)
            yield Usage(input_tokens=estimate_tokens(prompt), output_tokens=len(tokens))
            yield Finish(finish)

        stream = ChunkStream(chunks())
        return stream
