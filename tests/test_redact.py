"""Configured API keys (environment, secrets file, pasted) never come back: not in the
database, an export, a log line or the terminal."""

from __future__ import annotations

import io
import json
import logging

from pydantic import SecretStr

from duet_core import redact
from duet_core.exports import transcript as exports
from duet_core.logs import JsonFormatter
from duet_core.models import BotConfig, RunConfig, RunStatus
from duet_core.providers.scripted import ScriptedProvider
from duet_core.run.manager import RunManager
from duet_core.settings import Settings
from duet_core.store import Store

ENV_KEY = "env-key-NOT-KEY-SHAPED-0123456789"  # caught only because it is configured
PASTED = "pasted-key-ALSO-PLAIN-9876543210"


def test_registered_and_key_shaped_strings_are_redacted():
    redact.register("short", None, "", ENV_KEY)
    assert redact.redact("short words stay") == "short words stay"  # too short to register
    assert redact.redact(f"x {ENV_KEY} y") == f"x {redact.MARK} y"
    assert redact.redact("sk-ant-api03-abcdefgh12345678") == redact.MARK
    assert redact.redact("Authorization: Bearer abcdefghijklmnop1234") == (
        f"Authorization: Bearer {redact.MARK}"
    )
    assert redact.scrub({"a": [f"{ENV_KEY}!"], "n": 3}) == {"a": [f"{redact.MARK}!"], "n": 3}


def test_a_reply_echoing_keys_is_redacted_everywhere(tmp_path):
    echo = f"Sure: Bearer {ENV_KEY} and {PASTED} and sk-proj-abcdefghij0123456789"
    provider = ScriptedProvider().enqueue(echo, "fine")
    settings = Settings(_env_file=None, openai_api_key=SecretStr(ENV_KEY))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("duet").addHandler(handler)
    try:
        with Store(f"sqlite:///{tmp_path / 'r.db'}") as store:
            manager = RunManager(store, settings, lambda bot, keys: provider)
            bots = [BotConfig(name="Ada"), BotConfig(name="Bob")]
            config = RunConfig(topic=f"Topic with {PASTED}", max_turns=2, bots=bots)
            live = manager.start(config, "alice", keys={"openai": PASTED})
            assert live.join(30) and live.status is RunStatus.COMPLETED
            logging.getLogger("duet.run").warning("echo %s", echo)
            saved = store.get_run(live.id)
    finally:
        logging.getLogger("duet").removeHandler(handler)
    assert saved.turns[0].content.count(redact.MARK) == 3
    outputs = [saved.model_dump_json(), stream.getvalue()]
    outputs += [exports.export_text(saved, s) for s in exports.EXPORT_FORMATS if s != ".pdf"]
    outputs.append(exports.turns_csv([saved], spreadsheet_safe=True))
    for text in outputs:
        for secret in (ENV_KEY, PASTED, "sk-proj-abcdefghij"):
            assert secret not in text
    assert any(json.loads(x)["message"].startswith("echo") for x in stream.getvalue().splitlines())
