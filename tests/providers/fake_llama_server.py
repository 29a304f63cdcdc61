"""A stand-in for llama.cpp's OpenAI-compatible server, run as the local provider's child.

    python tests/providers/fake_llama_server.py [own options] --model M --host H --port P ...

It takes the arguments the local provider passes to the real server (and ignores the ones it
does not know) and answers like llama-cpp-python's server (``--flavour llama_cpp``: ready at
``/v1/models``, no usage in the stream, ``POST /extras/tokenize``) or like the ``llama-server``
binary (``--flavour llama-server``: ``/health``, usage in the stream, ``POST /tokenize``).
Like the real ones it answers one chat request at a time; the others wait their turn.

A reply is ``min(max_tokens, 6)`` tokens ("tok0 ", "tok1 ", ...), finish "length" when
max_tokens cut it, else "stop". A request whose messages contain ``HOLD`` gets its first token
and then nothing more until the client disconnects (Stop) or the server is killed.
Tokenizing counts words. Own options: ``--fail-start TEXT`` (write TEXT to stderr and exit 3
before listening), ``--never-ready`` (listen, but never say the model is loaded).
"""

from __future__ import annotations

import argparse
import json
import select
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY_TOKENS = 6
HOLD = "HOLD"

generating = threading.Lock()  # one reply at a time, as llama.cpp's servers do


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavour", choices=["llama_cpp", "llama-server"], default="llama_cpp")
    parser.add_argument("--fail-start")
    parser.add_argument("--never-ready", action="store_true")
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args, _ = parser.parse_known_args()
    return args


def chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {"id": "fake", "object": "chat.completion.chunk", "created": 0, "model": "fake"}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def handler(args: argparse.Namespace) -> type[BaseHTTPRequestHandler]:
    llama_server = args.flavour == "llama-server"
    ready_path = "/health" if llama_server else "/v1/models"
    tokenize_path, tokenize_field = (
        ("/tokenize", "content") if llama_server else ("/extras/tokenize", "input")
    )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the body ends when the connection closes

        def log_message(self, *a: object) -> None:
            pass

        def answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path != ready_path:
                self.answer(404, {"error": "not found"})
            elif args.never_ready:
                self.answer(503, {"error": {"message": "Loading model"}})
            else:
                self.answer(200, {"object": "list", "data": [{"id": args.model}]})

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == tokenize_path:
                self.answer(200, {"tokens": list(range(len(request[tokenize_field].split())))})
            elif self.path == "/v1/chat/completions":
                with generating:
                    self.stream(request)
            else:
                self.answer(404, {"error": "not found"})

        def stream(self, request: dict) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(chunk({"role": "assistant"}))
            limit = request.get("max_tokens") or 512
            n = min(limit, REPLY_TOKENS)
            hold = any(HOLD in m["content"] for m in request["messages"])
            for i in range(n):
                self.wfile.write(chunk({"content": f"tok{i} "}))
                self.wfile.flush()
                if hold:  # until the client goes (Stop) or the server is killed
                    select.select([self.connection], [], [])
                    return
            self.wfile.write(chunk({}, "length" if n == limit else "stop"))
            if llama_server and (request.get("stream_options") or {}).get("include_usage"):
                prompt = sum(len(m["content"].split()) for m in request["messages"])
                usage = {"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": 0}
                body = {"id": "fake", "object": "chat.completion.chunk", "created": 0}
                body |= {"model": "fake", "choices": [], "usage": usage}
                self.wfile.write(b"data: " + json.dumps(body).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")

    return Handler


def main() -> None:
    args = parse()
    if args.fail_start:
        print(args.fail_start, file=sys.stderr)
        raise SystemExit(3)
    server = ThreadingHTTPServer((args.host, args.port), handler(args))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
