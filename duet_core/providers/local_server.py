"""The local model's server: llama.cpp's OpenAI-compatible server as a child process.

``LocalServer`` starts it for one model file on a free loopback port when a turn first needs it
(and again after it died), shares one start among the callers that wait for it, and ends it
with this process: at exit, and, should the process die without running its exit handlers, by
the kernel (``PR_SET_PDEATHSIG``). Native code never runs in Duet's process: a crash of the
model ends its server, never the app. The provider that streams through it is in ``local.py``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx2

from duet_core.errors import ProviderUnavailable
from duet_core.providers import event_loop
from duet_core.providers.openai_format import OpenAIChatProvider
from duet_core.providers.sdk_base import DEFAULT_STALL_TIMEOUT

CONTEXT_TOKENS = 2048  # catalog.PROFILES gives the engine the same window for trimming
READY_TIMEOUT = 120.0  # seconds for a new server to load the model and answer
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


def _default_threads() -> int:
    """Half the cores this process may use (at most 4): llama.cpp's threads wait on each other,
    so one descheduled thread stalls them all. Measured on 2 busy cores: 1 thread 29 tokens/s,
    2 threads 2 tokens/s; on 2 idle cores 61 and 78. The rest is left to the app."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores // 2))


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
        chat.joins_deltas = False  # local.py counts the tokens by their chunks
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
