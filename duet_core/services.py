"""The composition root: the process-wide objects every entry point shares, built once.

The pages (through ``duet_ui/shell/services.py``, which shows a spinner while it is built), the
HTTP API and the command line all get their settings, store, run manager, provider factory and
price table from here, so a run started by one is seen by the others and there is one place
where pasted keys are registered with ``redact``. No Streamlit, no FastAPI.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass

from duet_core import catalog, telemetry
from duet_core.logs import setup_logging
from duet_core.providers import Providers
from duet_core.providers.warm import warm_up
from duet_core.run.manager import RunManager
from duet_core.settings import Settings, load_settings
from duet_core.store import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    manager: RunManager
    providers: Providers
    prices: catalog.PriceTable

    def close(self) -> None:
        """Stop this process's runs and let the database go."""
        from duet_core.batch.app_worker import stop_worker  # (the worker imports the manager)

        stop_worker(self)
        self.manager.stop_all()
        self.manager.close()
        self.store.close()


def build_services(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    must_exist: bool = False,
    recover: bool = True,
    warm: bool | set[str] = False,
) -> Services:
    """Everything an entry point needs, for ``settings`` (the environment's by default) and
    ``database_url`` (the settings' by default). ``recover`` marks runs whose lease expired as
    interrupted; ``warm`` imports the SDKs and builds their clients now (in the background when
    ``True``, for the named providers only when a set), so the first turn starts warm.
    A bad setting or database raises ``ConfigError``/``StoreError`` (one line)."""
    settings = settings or load_settings()
    telemetry.set_up()  # traces when OTEL_EXPORTER_OTLP_ENDPOINT is set; nothing otherwise
    store = Store(database_url or settings.database_url, must_exist=must_exist)
    providers = Providers(settings)
    prices = catalog.load_prices(settings.prices_file)
    manager = RunManager(store, settings, provider_factory=providers, prices=prices)
    if recover:
        manager.recover_interrupted()
    if warm is True:
        warm_up(settings, background=True)
    elif warm:
        warm_up(settings, warm)
    return Services(settings, store, manager, providers, prices)


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    """This process's services (the app's: the environment's settings, logging set up, runs
    recovered, SDKs warmed in the background), built on first use; stopped at exit."""
    global _services
    with _lock:
        if _services is None:
            settings = load_settings()
            setup_logging(settings.log_level)
            _services = build_services(settings, warm=True)
            atexit.register(_services.manager.stop_all)
        return _services


def built() -> bool:
    """Whether ``services()`` has been built in this process."""
    return _services is not None


def forget_services() -> None:
    """Tests: the next ``services()`` builds anew (after the environment changed)."""
    global _services
    with _lock:
        _services = None
