"""Every store test runs twice: on SQLite (a temp file) and on a real PostgreSQL server.

PostgreSQL: ``DUET_TEST_POSTGRES_URL`` (a user allowed to CREATE DATABASE) when set; otherwise
a throwaway cluster is started from Debian's ``/usr/lib/postgresql/*/bin`` (as the ``postgres``
OS user when we are root) on 127.0.0.1 at a free port, and removed at the end of the session.
When neither works the PostgreSQL tests are skipped with the reason, or fail when
``DUET_REQUIRE_POSTGRES=1`` (CI). Each test gets a fresh database.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn
from duet_core.store import Store, database_url

URL_ENV = "DUET_TEST_POSTGRES_URL"
REQUIRE_ENV = "DUET_REQUIRE_POSTGRES"
_status: list[str] = []  # one line for the terminal summary


class PostgresUnavailable(Exception):
    pass


class PostgresServer:
    """A server we may create and drop databases on."""

    def __init__(self, admin_url: str | URL, description: str):
        self.admin_url = database_url(admin_url)
        self.description = description
        self._admin = create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )

    def check(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(text("SELECT 1"))

    def create_database(self) -> str:
        name = f"duet_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
        return name

    def drop_database(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        self._admin.dispose()


class ThrowawayCluster:
    """initdb + pg_ctl in a temp dir; trust auth; loopback only; stopped by ``stop()``."""

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        if self.bindir is None:
            raise PostgresUnavailable(
                "no initdb/pg_ctl under /usr/lib/postgresql/*/bin or on PATH "
                f"(apt-get install postgresql, or set {URL_ENV})"
            )
        self.as_user: list[str] = []
        owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # the server refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and no 'postgres' OS user") from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PostgresUnavailable("running as root and no runuser to drop to 'postgres'")
            self.as_user = [runuser, "-u", "postgres", "--"]
        # /tmp rather than $TMPDIR: the postgres user must be able to reach the directory
        parent = "/tmp" if os.access("/tmp", os.W_OK) else None
        self.dir = Path(tempfile.mkdtemp(prefix="duet-pg-", dir=parent))
        self.data = self.dir / "data"
        self.sockets = self.dir / "sock"
        self.log = self.dir / "server.log"
        self.sockets.mkdir()
        if owner is not None:
            for p in (self.dir, self.sockets):
                os.chown(p, owner.pw_uid, owner.pw_gid)
        self.port = _free_port()
        self.started = False
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.as_user, *args],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            out = (result.stderr or result.stdout).strip().splitlines()
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {' | '.join(out[-3:])}")
        return result

    def _start(self) -> None:
        initdb = str(self.bindir / "initdb")
        common = ["-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "-N"]
        try:  # C.UTF-8 so that ILIKE folds non-ASCII letters too
            self._run(initdb, *common, "--locale=C.UTF-8")
        except PostgresUnavailable:
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(initdb, *common, "--locale=C")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.sockets}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        pg_ctl = str(self.bindir / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.started = True

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def version(self) -> str:
        return self.bindir.parent.name if self.bindir else "?"

    def stop(self) -> None:
        if self.started:
            try:
                pg_ctl = str(self.bindir / "pg_ctl")
                self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except (PostgresUnavailable, subprocess.TimeoutExpired):
                pass
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


def _postgres_bindir() -> Path | None:
    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", p.parent.name)) or (0,)

    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True):
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str) -> None:
    _status.append(f"PostgreSQL store tests skipped: {reason}")
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL required ({REQUIRE_ENV}=1) but unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    cluster: ThrowawayCluster | None = None
    try:
        if os.environ.get(URL_ENV):
            server = PostgresServer(os.environ[URL_ENV], f"PostgreSQL from {URL_ENV}")
        else:
            cluster = ThrowawayCluster()
            server = PostgresServer(
                cluster.url, f"throwaway PostgreSQL {cluster.version} on 127.0.0.1:{cluster.port}"
            )
        server.check()
    except Exception as e:  # any failure to start means "no PostgreSQL here"
        if cluster is not None:
            cluster.stop()
        _unavailable(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
    _status.append(f"PostgreSQL store tests ran on {server.description}")
    try:
        yield server
    finally:
        server.close()
        if cluster is not None:
            cluster.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in dict.fromkeys(_status):
        terminalreporter.write_line(line)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'duet.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = server.create_database()
    try:
        yield server.url_for(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def open_store(db_url: str) -> Iterator[Callable[[], Store]]:
    """Open another Store on the test's database; each is closed after the test."""
    opened: list[Store] = []

    def open_() -> Store:
        opened.append(Store(db_url))
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _bots(
    provider0: str = "demo",
    model0: str = "duet-demo",
    provider1: str = "demo",
    model1: str = "duet-demo",
) -> list[BotConfig]:
    def bot(name: str, provider: str, model: str) -> BotConfig:
        base = "http://localhost:11434/v1" if provider == "openai_compatible" else None
        return BotConfig(name=name, provider=provider, model=model, base_url=base)

    return [bot("Ada", provider0, model0), bot("Bo", provider1, model1)]


def _make_run(
    topic: str = "Is a hot dog a sandwich?",
    *,
    owner: str = "alice",
    status: RunStatus = RunStatus.RUNNING,
    created_at: datetime = T0,
    bot_configs: list[BotConfig] | None = None,
    turns: int = 0,
    run_id: str | None = None,
) -> Run:
    config = RunConfig(topic=topic, max_turns=20, bots=bot_configs or _bots())
    run = Run(owner=owner, config=config, status=status, created_at=created_at)
    if run_id:
        run.id = run_id
    run.turns = [_make_turn(run, i) for i in range(turns)]
    return run


def _make_turn(
    run: Run, index: int, content: str | None = None, cost: float | None = 0.001
) -> Turn:
    bot_index = (run.config.first_speaker + index) % 2
    bot = run.config.bots[bot_index]
    started = run.created_at + timedelta(seconds=10 * index)
    return Turn(
        index=index,
        bot_index=bot_index,
        bot_name=bot.name,
        content=content if content is not None else f"Turn {index} from {bot.name}.",
        thinking="",
        config=bot,
        started_at=started,
        finished_at=started + timedelta(seconds=3),
        ttft_ms=120.5,
        latency_ms=3000.0,
        input_tokens=100 + index,
        output_tokens=50 + index,
        cost_usd=cost,
        finish_reason="stop",
    )


@pytest.fixture
def bots() -> Callable[..., list[BotConfig]]:
    """``bots(provider0, model0, provider1, model1)``: two valid bot configs."""
    return _bots


@pytest.fixture
def make_run() -> Callable[..., Run]:
    """``make_run(topic, owner=, status=, created_at=, bot_configs=, turns=N)``."""
    return _make_run


@pytest.fixture
def make_turn() -> Callable[..., Turn]:
    """``make_turn(run, index, content=None, cost=0.001)``: the bot whose turn it is."""
    return _make_turn
