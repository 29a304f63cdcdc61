"""A slow model for the browser tests: the providers' fake server, streaming word by word.

Each reply names its request number and model ("Reply3 from gpt-4.1-mini: ...") and streams
``delay`` seconds per event, so a person (the test) can change settings while a turn is going.
A request asking for JSON (a judge's: OpenAI's ``response_format``, Anthropic's
``output_config.format``) gets a verdict, ``{"score": JUDGE_SCORE, "reason": "Reply3 ..."}``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.providers.provider_fakes import (
    FakeServer,
    Recorded,
    Reply,
    anthropic_stream,
    openai_stream,
)

TEXT = (
    "a measured reply that arrives word by word so the page can show it growing while the "
    "run is still going and the person watching can change a setting before the next turn"
)
WORDS = TEXT.split(" ")
JUDGE_SCORE = 7


def asks_json(body: dict[str, Any]) -> bool:
    return "response_format" in body or "format" in (body.get("output_config") or {})


class FakeLLM(FakeServer):
    def __init__(self, delay: float = 0.1, words: int = 24):
        super().__init__()
        self.delay = delay
        self.words = words

    def record(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            n = len(self.requests)
        model = str((request.body or {}).get("model"))
        words = [f"Reply{n}", f"from {model}:", *WORDS[: self.words]]
        stream = anthropic_stream if request.path.endswith("/messages") else openai_stream
        if asks_json(request.body or {}):
            verdict = {"score": JUDGE_SCORE, "reason": " ".join(words[:8])}
            words = json.dumps(verdict).split(" ")
        return stream([w + " " for w in words], usage=(40, len(words))).slowly(self.delay)

    def bodies(self, path_end: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith(path_end)]
