"""``python -m duet_core.providers.local_check``: can the local model run on this machine?

``make local`` ends with it. It loads the model and writes a few tokens in a child process, so
that a build that crashes on this CPU (an instruction the CPU or its sandbox refuses) is
reported in one plain line instead of taking this process down. Exit 0 when it ran, 1 when not.
"""

from __future__ import annotations

import subprocess
import sys
import time

from duet_core.providers.local import local_model_status, model_path

_GENERATE = """
import sys
from llama_cpp import Llama
llama = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=1, verbose=False)
out = llama.create_completion("The sky is", max_tokens=8, temperature=0)
print(len(out["choices"][0]["text"]) >= 0 and out["usage"]["completion_tokens"])
"""


def check(timeout_s: float = 300) -> tuple[bool, str]:
    """Run one short generation in a child process: (worked, one line saying what happened)."""
    ok, hint = local_model_status()
    path = model_path()
    if not ok or path is None:
        return False, hint
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _GENERATE, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return False, f"the local model wrote nothing in {timeout_s:.0f} s"
    seconds = time.monotonic() - started
    if done.returncode < 0:
        return False, (
            f"the local model's build cannot run on this machine (signal {-done.returncode}): "
            "rebuild it with `make clean local`"
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"the local model failed: {last}"
    return True, f"the local model runs here ({done.stdout.strip()} tokens in {seconds:.1f} s)"


def main() -> int:
    worked, line = check()
    print(("ok: " if worked else "error: ") + line, file=sys.stdout if worked else sys.stderr)
    return 0 if worked else 1


if __name__ == "__main__":
    raise SystemExit(main())
