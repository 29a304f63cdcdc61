"""A local fake OpenAI chat-completions server for bench/live_latency.py: it streams unique
tokens (``zq003t0017z``: request 3, token 17) at a fixed rate, after an optional time to first
token (a real provider thinks before its first token), and notes the wall-clock time
(ms) each one was written to the socket."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TokenServer:
    """OpenAI chat completions that stream unique tokens and note when each one was sent."""

    def __init__(self, rate: float, tokens: int, ttft: float = 0.0):
        self.rate, self.tokens, self.ttft = rate, tokens, ttft  # ttft: seconds before token 0
        self.sent: dict[str, float] = {}
        self.requests = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        bench = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with bench._lock:
                    bench.requests += 1
                    n = bench.requests
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                gap = 1.0 / bench.rate
                start = time.monotonic() + bench.ttft
                try:
                    for i in range(bench.tokens):
                        pause = start + i * gap - time.monotonic()
                        if pause > 0:
                            time.sleep(pause)
                        token = f"zq{n:03d}t{i:04d}z"
                        last = i == bench.tokens - 1
                        self._event(
                            {
                                "id": "c",
                                "object": "chat.completion.chunk",
                                "choices": [
                                    {
                                        "index": 0,
                                        "delta": {"content": token + " "},
                                        "finish_reason": "stop" if last else None,
                                    }
                                ],
                            }
                        )
                        bench.sent[token] = time.time() * 1000
                    usage = {"prompt_tokens": 10, "completion_tokens": bench.tokens}
                    usage["total_tokens"] = 10 + bench.tokens
                    self._event({"id": "c", "object": "chat.completion.chunk", "choices": []})
                    self._event({"choices": [], "usage": usage})
                    self._event("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _event(self, data: object) -> None:
                text = data if isinstance(data, str) else json.dumps(data)
                frame = f"data: {text}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()

        return Handler
