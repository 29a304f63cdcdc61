"""warm_up(): after it, a first turn imports and builds nothing, and no request left the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from duet_core.models import BotConfig
from duet_core.providers import make_provider
from duet_core.providers.warm import warm_up
from duet_core.settings import Settings
from tests.providers.provider_fakes import DEADLINE

ROOT = Path(__file__).resolve().parents[2]

FIRST_TURN = textwrap.dedent(
    """
    import json, sys
    from tests.providers.provider_fakes import FakeServer
    server = FakeServer(keep_alive=True).start()
    from duet_core.models import BotConfig
    from duet_core.providers import make_provider
    from duet_core.providers.warm import warm_up
    from duet_core.settings import Settings
    settings = Settings(
        openai_api_key="sk-test", anthropic_api_key="sk-test",
        openai_base_url=server.url + "/v1", anthropic_base_url=server.url, _env_file=None,
    )
    warm_up(settings)
    warmed_requests = len(server.requests)
    before = set(sys.modules)
    for bot in (
        BotConfig(provider="openai", model="gpt-4.1-mini"),
        BotConfig(provider="anthropic", model="claude-sonnet-5-5"),
    ):
        text = "".join(
            c.text for c in make_provider(bot, settings).open("", [{"role": "user",
            "content": "hi"}], bot) if hasattr(c, "text")
        )
        assert text == "Hello", text
    print(json.dumps({"new_modules": sorted(set(sys.modules) - before),
                      "warm_up_requests": warmed_requests}))
    """
)


def test_a_first_turn_after_warm_up_imports_nothing_new():
    done = subprocess.run(
        [sys.executable, "-c", FIRST_TURN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"new_modules": [], "warm_up_requests": 0}


def test_warm_up_builds_the_clients_turns_will_use(fake):
    settings = Settings(
        openai_api_key="sk-test",
        openai_base_url=f"{fake.url}/v1",
        _env_file=None,
    )
    thread = warm_up(settings, ["openai"], background=True)
    assert thread is not None
    thread.join(DEADLINE * 6)
    assert not thread.is_alive()
    assert fake.requests == []  # warming never calls the real server
    bot = BotConfig(provider="openai", model="gpt-4.1-mini")
    assert make_provider(bot, settings) is make_provider(bot, settings)


def test_warm_up_never_raises(monkeypatch):
    monkeypatch.setattr("duet_core.providers.warm._warm", lambda *a: 1 / 0)
    assert warm_up(None) is None
