"""The local provider's child-process server, against a fake one (fake_llama_server.py).

Runs everywhere (no model needed): the server's lifecycle, the crash of a server mid-turn while
another run goes on, usage the server does not send, queued requests, and no server left
behind by a process that ends. test_local_model.py runs the same paths against the real model.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from duet_core.errors import ProviderUnavailable
from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers import make_provider
from duet_core.providers.base import Finish, Usage
from duet_core.providers.local import chat_text, local_provider
from duet_core.providers.local_server import (
    LLAMA_CPP_PYTHON,
    LLAMA_SERVER,
    LocalModelStopped,
    server_environment,
)
from duet_core.providers.scripted import Hold, ScriptedProvider
from duet_core.run.engine import LiveRun
from duet_core.run.events import TextDelta as TextEvent
from duet_core.run.events import TurnFinished
from duet_core.settings import Settings
from tests.providers.local_fakes import (
    FAKE_SERVER,
    fake_provider,
    next_event,
    running,
    wait_ended,
)
from tests.providers.provider_fakes import DEADLINE, Consumer, text_of
from tests.run.conftest import wait_status
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
ASK = [{"role": "user", "content": "Name three colours."}]
REPLY = "tok0 tok1 tok2 tok3 tok4 tok5 "
START = 60.0  # seconds: a generous bound on starting the fake server on a busy machine


def bot(**kw) -> BotConfig:
    fields = {"name": "Smol", "provider": "local", "model": "SmolLM2-135M-Instruct"}
    return BotConfig(**{**fields, **kw})


@pytest.fixture
def local(tmp_path):
    provider = fake_provider(tmp_path)
    yield provider
    provider.stop()


def test_the_server_is_started_to_queue_requests_on_loopback():
    args = LLAMA_CPP_PYTHON.arguments(Path("/m.gguf"), 4321, 1)
    assert args[args.index("--interrupt_requests") + 1] == "False"  # never cut the one in flight
    assert args[args.index("--host") + 1] == "127.0.0.1"
    assert args[args.index("--n_ctx") + 1] == "2048"
    args = LLAMA_SERVER.arguments(Path("/m.gguf"), 4321, 1)
    assert args[args.index("--parallel") + 1] == "1"
    assert args[args.index("--host") + 1] == "127.0.0.1"


def test_settings_meant_for_the_app_do_not_reach_the_server():
    env = server_environment(
        {"PORT": "8501", "host": "0.0.0.0", "API_KEY": "k", "CONFIG_FILE": "/x.json",
         "LLAMA_ARG_PORT": "1", "PATH": "/usr/bin", "OPENAI_API_KEY": "sk", "HOME": "/root"}
    )  # fmt: skip
    assert env == {"PATH": "/usr/bin", "OPENAI_API_KEY": "sk", "HOME": "/root"}


def test_streams_through_the_child_and_counts_the_usage_it_does_not_send(local):
    chunks = list(local.open("Be brief.", ASK, bot(max_tokens=48)))
    assert text_of(chunks) == REPLY
    assert [type(c) for c in chunks[-2:]] == [Usage, Finish]
    prompt = len(chat_text("Be brief.", ASK).split())  # the fake's tokenizer counts words
    assert chunks[-2] == Usage(input_tokens=prompt, output_tokens=6)
    assert chunks[-1] == Finish("stop")
    pid = local.server.pid
    assert pid is not None and running(pid) and pid != os.getpid()
    # the next turn uses the same server
    assert text_of(local.open("", ASK, bot(max_tokens=3))) == "tok0 tok1 tok2 "
    assert local.server.pid == pid


def test_max_tokens_cuts_the_reply(local):
    chunks = list(local.open("", ASK, bot(max_tokens=3)))
    assert chunks[-2:] == [Usage(len(chat_text("", ASK).split()), 3), Finish("length")]


def test_usage_a_server_sends_is_kept(tmp_path):
    provider = fake_provider(tmp_path, flavour="llama-server")
    try:
        chunks = list(provider.open("Be brief.", ASK, bot(max_tokens=48)))
    finally:
        provider.stop()
    usages = [c for c in chunks if isinstance(c, Usage)]
    assert usages == [Usage(input_tokens=5, output_tokens=6)]  # the fake's own: words sent


def test_concurrent_streams_share_one_server_and_both_finish(local):
    local.start()
    pid = local.server.pid
    consumers = [Consumer(local.open("", ASK, bot(max_tokens=48))) for _ in range(3)]
    for consumer in consumers:
        consumer.start()
    for consumer in consumers:
        consumer.join(START)
        assert not consumer.is_alive() and consumer.error is None
        assert text_of(consumer.chunks) == REPLY and consumer.chunks[-1] == Finish("stop")
    assert local.server.pid == pid


def test_one_provider_per_model_file(tmp_path):
    model = tmp_path / "a.gguf"
    model.write_bytes(b"GGUF")
    assert local_provider(model) is local_provider(tmp_path / "." / "a.gguf")
    settings = Settings(local_model=model, _env_file=None)
    assert make_provider(bot(), settings) is local_provider(model)


def test_stop_mid_reply_ends_the_turn_at_once_and_frees_the_server(local):
    stream = local.open("HOLD", ASK, bot(max_tokens=48))
    consumer = Consumer(stream)
    consumer.start()
    assert consumer.wait_for_text("tok0 ", START)
    stream.close()
    consumer.join(1.0)
    assert not consumer.is_alive() and consumer.error is None
    assert text_of(local.open("", ASK, bot(max_tokens=2))) == "tok0 tok1 "


def test_stop_while_the_server_starts(tmp_path):
    provider = fake_provider(tmp_path, "--never-ready", ready_timeout=START)
    try:
        stream = provider.open("", ASK, bot())
        consumer = Consumer(stream)
        consumer.start()
        wait_for(lambda: provider.server.pid is not None, START, "the server's pid")
        stream.close()
        consumer.join(1.0)
        assert not consumer.is_alive() and consumer.error is None and consumer.chunks == []
    finally:
        provider.stop()


def test_a_server_that_exits_while_starting_says_why_in_one_line(tmp_path):
    provider = fake_provider(tmp_path, "--fail-start", "error: no such model file")
    with pytest.raises(LocalModelStopped) as caught:
        list(provider.open("", ASK, bot()))
    message = str(caught.value)
    assert message.startswith(
        "The local model could not start (exit code 3: error: no such model file)."
    )
    assert "\n" not in message and caught.value.returncode == 3
    assert isinstance(caught.value, ProviderUnavailable)


def test_a_server_that_never_answers_is_ended_after_the_deadline(tmp_path):
    provider = fake_provider(tmp_path, "--never-ready", ready_timeout=1.0)
    with pytest.raises(LocalModelStopped, match=r"could not start \(no answer within 1 s\)"):
        list(provider.open("", ASK, bot()))
    pid = provider.server.pid
    assert pid is not None and wait_ended(pid, DEADLINE)


def test_a_server_killed_mid_turn_ends_that_turn_only_and_the_next_turn_restarts_it(local):
    # Another run in this process, held in the middle of a reply while the server dies.
    other = ScriptedProvider()
    hold = Hold()
    other.enqueue(["Still ", hold, "here."], "Fine.")
    other_bots = [BotConfig(name="Cy"), BotConfig(name="Di")]
    other_run = LiveRun(
        Run(config=RunConfig(topic="Chat", max_turns=2, bots=other_bots)), lambda b: other
    )
    other_run.start()
    assert hold.reached.wait(DEADLINE)

    bots = [bot(name="Ada", max_tokens=48), bot(name="Bob", system_prompt="HOLD", max_tokens=48)]
    live = LiveRun(Run(config=RunConfig(topic="Tea?", max_turns=3, bots=bots)), lambda b: local)
    sub = live.subscribe()
    live.start()
    first = next_event(sub, lambda e: isinstance(e, TurnFinished), START)
    next_event(sub, lambda e: isinstance(e, TextEvent) and e.turn_index == 1, START)
    pid = local.server.pid
    os.kill(pid, signal.SIGSEGV)

    assert wait_status(live, RunStatus.ERROR, timeout=START) is RunStatus.ERROR
    run = live.snapshot().run
    assert run.error == "The local model stopped (signal 11); it restarts on the next turn."
    assert [t.content for t in run.turns] == [first.turn.content, "tok0 "]  # both kept
    assert run.turns[0].finish_reason == "stop" and run.turns[1].finish_reason == "error"
    assert wait_ended(pid, DEADLINE)

    # the other run never noticed
    assert other_run.status is RunStatus.RUNNING
    hold.release()
    assert wait_status(other_run, RunStatus.COMPLETED) is RunStatus.COMPLETED
    assert [t.content for t in other_run.snapshot().run.turns] == ["Still here.", "Fine."]

    # Continue: the next turn starts a new server
    run.status, run.error, run.stop_reason = RunStatus.RUNNING, None, None
    again = LiveRun(run, lambda b: local)
    again.start()
    assert wait_status(again, RunStatus.COMPLETED, timeout=START) is RunStatus.COMPLETED
    turns = again.snapshot().run.turns
    assert len(turns) == 3 and turns[2].bot_name == "Ada" and turns[2].content == REPLY
    assert local.server.pid not in (None, pid)


def test_a_crash_while_streaming_is_one_line_from_the_provider_too(local):
    stream = local.open("HOLD", ASK, bot(max_tokens=48))
    consumer = Consumer(stream)
    consumer.start()
    assert consumer.wait_for_text("tok0 ", START)
    os.kill(local.server.pid, signal.SIGKILL)
    consumer.join(START)
    assert isinstance(consumer.error, LocalModelStopped)
    assert str(consumer.error) == (
        "The local model stopped (signal 9); it restarts on the next turn."
    )
    assert text_of(local.open("", ASK, bot(max_tokens=1))) == "tok0 "


STARTS_A_SERVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tests.providers.local_fakes import fake_provider
    provider = fake_provider(Path(sys.argv[1]))
    provider.start()
    print(provider.server.pid, flush=True)
    sys.stdin.readline()  # until the test has seen the server (then exit, or be killed)
    """
)


@pytest.mark.parametrize("ending", ["exit", "SIGKILL"])
def test_no_server_outlives_its_process(tmp_path, ending):
    child = subprocess.Popen(
        [sys.executable, "-c", STARTS_A_SERVER, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        pid = int(child.stdout.readline())
        assert running(pid)
        if ending == "SIGKILL":
            child.kill()  # no exit handlers: the kernel ends the server (PR_SET_PDEATHSIG)
        else:
            child.stdin.write("\n")  # the child exits normally: its exit handler ends the server
            child.stdin.flush()
        assert child.wait(START) in (0, -signal.SIGKILL)
        assert wait_ended(pid, DEADLINE)
    finally:
        child.kill()
        child.wait()


def test_the_fake_server_is_the_one_started(local):
    local.start()
    cmdline = Path(f"/proc/{local.server.pid}/cmdline").read_bytes().split(b"\0")
    assert str(FAKE_SERVER).encode() in cmdline  # the launcher replaced itself with it
