"""The offline demo provider."""

import threading
import time

from duet_core.models import BotConfig
from duet_core.providers.base import Finish, TextDelta, Usage
from duet_core.providers.demo import NOTICE, DemoProvider

BOT = BotConfig(name="Ada", system_prompt="You are a pirate captain. Speak boldly.")
MSGS = [{"role": "user", "content": "Topic\n\nI think ships should be banned."}]


def text_of(stream):
    return "".join(c.text for c in stream if isinstance(c, TextDelta))


def test_in_character_and_says_it_is_the_demo():
    text = text_of(DemoProvider(0, seed=1).open(BOT.system_prompt, MSGS, BOT))
    assert text.startswith(NOTICE)
    assert "a pirate captain" in text
    assert "I think ships should be banned" in text  # answers the partner's last message


def test_deterministic_for_a_seed():
    a = text_of(DemoProvider(0, seed=7).open("", MSGS, BOT))
    b = text_of(DemoProvider(0, seed=7).open("", MSGS, BOT))
    assert a == b
    others = {text_of(DemoProvider(0, seed=s).open("", MSGS, BOT)) for s in range(10)}
    assert len(others) > 1


def test_notice_only_on_a_bots_first_turn():
    later = [*MSGS, {"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]
    assert NOTICE not in text_of(DemoProvider(0, seed=1).open("", later, BOT))


def test_usage_finish_and_max_tokens():
    chunks = list(DemoProvider(0, seed=1).open("", MSGS, BOT.model_copy(update={"max_tokens": 5})))
    assert sum(isinstance(c, TextDelta) for c in chunks) == 5
    usage = next(c for c in chunks if isinstance(c, Usage))
    assert usage.output_tokens == 5 and usage.input_tokens > 0
    assert chunks[-1] == Finish("length")


def test_token_rate_and_close_from_another_thread():
    stream = DemoProvider(tokens_per_second=20, seed=1).open("", MSGS, BOT)
    first = threading.Event()
    got = []

    def consume():
        for c in stream:
            got.append(c)
            first.set()

    t = threading.Thread(target=consume)
    started = time.perf_counter()
    t.start()
    assert first.wait(2)
    assert time.perf_counter() - started >= 0.04  # paced: one token each 50 ms
    stream.close()
    t.join(1)
    assert not t.is_alive()
    assert len(got) < 10
