"""The server's own worker: the process serving the pages and the HTTP API works on the
experiment queue too (docs/design.md: "this process, ``python -m duet_core worker``, any app
replica"), so an experiment started on the Experiments page or by ``POST /api/batch`` runs
without a separate command. Started on first use, one per ``Services``; up to half of
``DUET_MAX_ACTIVE_RUNS`` runs at once (experiment runs count against that limit of the
process, so the other half stays for conversations started by people), each experiment within
its own ``concurrency``; ``python -m duet_core worker`` processes add more.

    ensure_worker(services)   # idempotent; the worker claims queued runs in a thread
    stop_worker(services)     # stop claiming; running runs end as interrupted (taken up later)
"""

from __future__ import annotations

import threading
from typing import Any

from duet_core.batch.worker import Worker

_lock = threading.Lock()
_workers: dict[int, Worker] = {}


def ensure_worker(services: Any) -> Worker:
    """This process's worker for ``services``, started if it is not running."""
    with _lock:
        worker = _workers.get(id(services))
        if worker is None:
            capacity = max(1, services.settings.max_active_runs // 2)
            worker = Worker.for_services(services, capacity=capacity)
            _workers[id(services)] = worker
            threading.Thread(target=worker.run, name="duet-app-worker", daemon=True).start()
        return worker


def stop_worker(services: Any, timeout: float = 10.0) -> None:
    with _lock:
        worker = _workers.pop(id(services), None)
    if worker is not None:
        worker.shut_down(timeout)
