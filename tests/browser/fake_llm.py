"""A slow-streaming fake of the OpenAI and Anthropic streaming APIs for the browser tests.

tests/providers/provider_fakes.py writes each scripted reply in one go; the browser tests need
replies that take a few seconds, so settings can be changed while a run is going. This server
records every request body and streams each reply word by word, ``delay`` seconds apart. It
stops writing as soon as the client disconnects (Stop).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEXT = (
    "a measured reply that arrives word by word so the page can show it growing while the "
    "run is still going and the person watching can change a setting before the next turn"
)
WORDS = TEXT.split(" ")


@dataclass
class Request:
    path: str
    body: dict[str, Any]


class FakeLLM:
    def __init__(self, delay: float = 0.1, words: int = 24):
        self.delay = delay
        self.words = words
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def record(self, request: Request) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    def bodies(self, path_end: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith(path_end)]

    def reply_words(self, n: int, model: str) -> list[str]:
        return [f"Reply{n}", f"from {model}:", *WORDS[: self.words]]

    def pause(self) -> bool:
        """Wait ``delay`` between words; True when the server is shutting down."""
        return self._closing.wait(self.delay)


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + f"data: {json.dumps(data)}\n\n").encode()


def _openai_frames(words: list[str]) -> list[bytes]:
    def chunk(delta: dict, finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _sse({"id": "c", "object": "chat.completion.chunk", "choices": [choice]})

    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"content": w + " "}) for w in words]
    frames.append(chunk({}, "stop"))
    usage = {"prompt_tokens": 40, "completion_tokens": len(words), "total_tokens": 40 + len(words)}
    last = {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": usage}
    frames.append(_sse(last))
    frames.append(b"data: [DONE]\n\n")
    return frames


TEXT_BLOCK = {"type": "text", "text": ""}


def _anthropic_frames(words: list[str]) -> list[bytes]:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 40, "output_tokens": 1},
    }
    frames = [
        _sse({"type": "message_start", "message": message}, "message_start"),
        _sse(
            {"type": "content_block_start", "index": 0, "content_block": TEXT_BLOCK},
            "content_block_start",
        ),
    ]
    frames += [
        _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}},
            "content_block_delta",
        )
        for w in (w + " " for w in words)
    ]
    frames.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    frames.append(
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(words)},
            },
            "message_delta",
        )
    )
    frames.append(_sse({"type": "message_stop"}, "message_stop"))
    return frames


def _handler(server: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw or b"{}")
            n = server.record(Request(self.path, body))
            words = server.reply_words(n, str(body.get("model")))
            if self.path.endswith("/chat/completions"):
                frames = _openai_frames(words)
            elif self.path.endswith("/messages"):
                frames = _anthropic_frames(words)
            else:
                self.send_error(404)
                return
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for i, frame in enumerate(frames):
                    if 0 < i < len(frames) - 3 and server.pause():
                        return
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):  # the client stopped the turn
                return

    return Handler
