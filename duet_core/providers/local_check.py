"""``python -m duet_core.providers.local_check``: can the local model run on this machine?

``make local`` ends with it. It starts the local model's server (a child process, as the app
does) and has it write a few tokens, so that a build that crashes on this CPU (an instruction
the CPU or its sandbox refuses) is reported in one plain line. Exit 0 when it ran, 1 when not.
"""

from __future__ import annotations

import sys
import time

from duet_core.errors import ProviderError
from duet_core.models import BotConfig
from duet_core.providers.base import TextDelta, Usage
from duet_core.providers.local import LocalProvider, local_model_status
from duet_core.providers.local_server import LocalModelStopped


def check(timeout_s: float = 300) -> tuple[bool, str]:
    """Generate a few tokens through the local server: (worked, one line saying what happened)."""
    ok, hint = local_model_status()
    if not ok:
        return False, hint
    provider = LocalProvider(ready_timeout=timeout_s)
    bot = BotConfig(provider="local", model="SmolLM2-135M-Instruct", max_tokens=8, temperature=0)
    started = time.monotonic()
    try:
        chunks = list(provider.open("", [{"role": "user", "content": "The sky is"}], bot))
    except LocalModelStopped as e:
        if e.returncode is not None and e.returncode < 0:
            return False, (
                f"the local model's build cannot run on this machine (signal {-e.returncode}):"
                " rebuild it with `make clean local`"
            )
        return False, f"the local model failed: {e}"
    except ProviderError as e:
        return False, f"the local model failed: {e}"
    finally:
        provider.stop()
    seconds = time.monotonic() - started
    tokens = next((c.output_tokens for c in chunks if isinstance(c, Usage)), None)
    if not any(isinstance(c, TextDelta) for c in chunks):
        return False, "the local model wrote nothing"
    return True, f"the local model runs here ({tokens} tokens in {seconds:.1f} s, server included)"


def main() -> int:
    worked, line = check()
    print(("ok: " if worked else "error: ") + line, file=sys.stdout if worked else sys.stderr)
    return 0 if worked else 1


if __name__ == "__main__":
    raise SystemExit(main())
