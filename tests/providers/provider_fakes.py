"""A local fake server that speaks both wire formats, with scripted replies and test helpers.

The server runs on 127.0.0.1 (port 0) in a thread, records every request (path, headers, JSON
body) and answers each one with the next scripted :class:`Reply`, or a normal reply in the
format the path asks for when none is scripted. Streaming replies use chunked encoding, so a
"cut" (socket closed before the final empty chunk) is a dropped connection to the client, while
a clean end of the body without ``[DONE]``/``message_stop`` is a clean close.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import select
import ssl
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from duet_core.providers.base import Chunk, ChunkStream, TextDelta, ThinkingDelta

API_KEY = "sk-test-0123456789abcdef"
DEADLINE = 5.0  # seconds; generous upper bound for anything that should be quick


# --- replies ---------------------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer. ``ending``: "end" (finish the body), "cut" (drop the connection
    before the body is complete) or "stall" (send the events, then hang). ``delay``: seconds
    between streamed events (a slow model)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    events: list[bytes] = field(default_factory=list)
    body: bytes | None = None  # a plain, non-streaming body (errors)
    ending: Literal["end", "cut", "stall"] = "end"
    hang_before_headers: bool = False
    delay: float = 0.0
    # set by the server
    stalled: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)

    def _but(self, **changes: Any) -> Reply:
        changes.setdefault("stalled", threading.Event())
        changes.setdefault("disconnected", threading.Event())
        return dataclasses.replace(self, **changes)

    def cut_after(self, n: int) -> Reply:
        return self._but(events=self.events[:n], ending="cut")

    def stall_after(self, n: int) -> Reply:
        return self._but(events=self.events[:n], ending="stall")

    def end_after(self, n: int) -> Reply:
        """A clean close after ``n`` events, before the reply says it is finished."""
        return self._but(events=self.events[:n], ending="end")

    def hang(self) -> Reply:
        """Accept the request, then send nothing at all."""
        return self._but(hang_before_headers=True)

    def slowly(self, delay: float) -> Reply:
        """The same events, ``delay`` seconds apart."""
        return self._but(delay=delay)


def sse(data: Any, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


def openai_stream(
    text: Iterable[str] = ("Hel", "lo"),
    reasoning: Iterable[str] = (),
    finish: str = "stop",
    usage: tuple[int, int] = (5, 2),
) -> Reply:
    """Events: [reasoning deltas], text deltas (the last with finish_reason), usage, [DONE]."""

    def chunk(delta: dict, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return sse({"id": "c1", "object": "chat.completion.chunk", "choices": [choice]})

    parts = list(text)
    events = [chunk({"role": "assistant", "reasoning_content": r}) for r in reasoning]
    last = len(parts) - 1
    events += [chunk({"content": p}, finish if i == last else None) for i, p in enumerate(parts)]
    prompt, completion = usage
    events.append(
        sse(
            {
                "id": "c1",
                "object": "chat.completion.chunk",
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )
    )
    events.append(sse("[DONE]"))
    return Reply(events=events)


def anthropic_stream(
    text: Iterable[str] = ("Hel", "lo"),
    thinking: Iterable[str] = (),
    stop_reason: str = "end_turn",
    usage: tuple[int, int] = (5, 2),
) -> Reply:
    """message_start, ping, [a thinking block], a text block, message_delta, message_stop."""
    input_tokens, output_tokens = usage
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    events = [
        sse({"type": "message_start", "message": message}, "message_start"),
        sse({"type": "ping"}, "ping"),
    ]

    def block(index: int, start: dict, deltas: list[dict]) -> list[bytes]:
        out = [
            sse(
                {"type": "content_block_start", "index": index, "content_block": start},
                "content_block_start",
            )
        ]
        out += [
            sse({"type": "content_block_delta", "index": index, "delta": d}, "content_block_delta")
            for d in deltas
        ]
        out.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        return out

    index = 0
    thoughts = list(thinking)
    if thoughts:
        deltas = [{"type": "thinking_delta", "thinking": t} for t in thoughts]
        deltas.append({"type": "signature_delta", "signature": "c2lnbmF0dXJl"})
        events += block(index, {"type": "thinking", "thinking": "", "signature": ""}, deltas)
        index += 1
    deltas = [{"type": "text_delta", "text": t} for t in text]
    events += block(index, {"type": "text", "text": ""}, deltas)
    events.append(
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
            "message_delta",
        )
    )
    events.append(sse({"type": "message_stop"}, "message_stop"))
    return Reply(events=events)


def json_reply(status: int, body: Any, **headers: str) -> Reply:
    return Reply(status=status, headers=headers, body=json.dumps(body).encode())


def openai_error(
    status: int,
    message: str,
    type_: str = "invalid_request_error",
    code: str | None = None,
    **headers: str,
) -> Reply:
    return json_reply(
        status,
        {"error": {"message": message, "type": type_, "param": None, "code": code}},
        **headers,
    )


def anthropic_error(status: int, type_: str, message: str, **headers: str) -> Reply:
    return json_reply(
        status, {"type": "error", "error": {"type": type_, "message": message}}, **headers
    )


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1, and the certificate file for clients to trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


# --- the server ------------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeServer:
    """Serves plain HTTP, or HTTPS when given a server-side ``tls`` context.

    With ``keep_alive`` a reply that ends cleanly leaves its connection open for the next
    request (as real providers do); otherwise every reply says ``Connection: close``.
    ``connections`` counts the TCP connections accepted.
    """

    def __init__(self, tls: ssl.SSLContext | None = None, *, keep_alive: bool = False) -> None:
        self.keep_alive = keep_alive
        self.connections = 0
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self.scheme = "https" if tls else "http"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def push(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def record(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.replies:
                return self.replies.popleft()
        return anthropic_stream() if request.path.endswith("/messages") else openai_stream()

    @property
    def last(self) -> Recorded:
        return self.requests[-1]


def _handler_for(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server.connections += 1

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server.record(Recorded("POST", self.path, headers, body))
            self.close_connection = not self._kept_alive(reply)
            try:
                self._answer(reply)
            except (BrokenPipeError, ConnectionResetError):  # the client went away mid-reply
                reply.disconnected.set()

        def _answer(self, reply: Reply) -> None:
            if reply.hang_before_headers:
                self._hang(reply)
                return
            if reply.body is not None:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self._finish_headers(reply)
                self.wfile.write(reply.body)
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self._finish_headers(reply)
            for i, frame in enumerate(reply.events):
                if i and reply.delay and server.closing.wait(reply.delay):
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
            if reply.ending == "end":
                self.wfile.write(b"0\r\n\r\n")
            elif reply.ending == "stall":
                self._hang(reply)
            # "cut": return without the final chunk; the server then closes the socket

        def _kept_alive(self, reply: Reply) -> bool:
            return server.keep_alive and reply.ending == "end" and not reply.hang_before_headers

        def _finish_headers(self, reply: Reply) -> None:
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if not self._kept_alive(reply):
                self.send_header("Connection", "close")
            self.end_headers()

        def _hang(self, reply: Reply) -> None:
            """Send nothing more; note when the client goes away."""
            reply.stalled.set()
            sock = self.connection
            while not server.closing.is_set():
                readable, _, _ = select.select([sock], [], [], 0.02)
                if not readable:
                    continue
                try:
                    data = sock.recv(4096)
                except ssl.SSLWantReadError:  # a TLS record that carries no data
                    continue
                except OSError:
                    data = b""
                if not data:
                    reply.disconnected.set()
                    return

    return Handler


# --- helpers ---------------------------------------------------------------------------------

USER_ONLY = [{"role": "user", "content": "Talk about tea."}]


def text_of(chunks: Iterable[Chunk]) -> str:
    return "".join(c.text for c in chunks if isinstance(c, TextDelta))


def thinking_of(chunks: Iterable[Chunk]) -> str:
    return "".join(c.text for c in chunks if isinstance(c, ThinkingDelta))


def joined(chunks: Iterable[Chunk]) -> list[Chunk]:
    """``chunks`` with adjacent deltas of one kind joined: what a stream says, whichever
    network reads its events arrived in (the SDK providers hand over one read's chunks
    together, their text joined)."""
    out: list[Chunk] = []
    for chunk in chunks:
        delta = isinstance(chunk, TextDelta | ThinkingDelta)
        if delta and out and type(out[-1]) is type(chunk):
            out[-1] = type(chunk)(out[-1].text + chunk.text)
        else:
            out.append(chunk)
    return out


class Consumer(threading.Thread):
    """Iterates a ChunkStream on its own thread, as the engine does."""

    def __init__(self, stream: ChunkStream):
        super().__init__(daemon=True)
        self.stream = stream
        self.chunks: list[Chunk] = []
        self.error: BaseException | None = None
        self._changed = threading.Condition()

    def run(self) -> None:
        try:
            for chunk in self.stream:
                with self._changed:
                    self.chunks.append(chunk)
                    self._changed.notify_all()
        except BaseException as e:
            self.error = e

    def wait_for_text(self, text: str, timeout: float = DEADLINE) -> bool:
        """Wait until the text received so far is ``text``."""
        with self._changed:
            return self._changed.wait_for(lambda: text_of(self.chunks) == text, timeout)
