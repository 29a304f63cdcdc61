"""The server's memory around a big background export from History, before and after a change.

    .venv/bin/python bench/export_memory.py [--scale 0.2] [--code /tmp/before --code .]
                                            [--gzip] [--downloads 3] [--format csv]

Generates the History database of ``bench/history_scale.py`` (``10,000 x scale`` runs of 20
turns), then for each checkout in turn (oldest first) starts the app on it (as ``make run``) and,
in headless Chromium: opens History, opens "Export all", presses "Prepare CSV" (uncompressed
unless ``--gzip``), waits for the file, downloads it ``--downloads`` times, then closes the tab.
It prints the app process's RSS (and that of any child processes it started) after each step,
again a few seconds after each download (what stays), and after the tab is closed: how long
until no export file is left in the app's temporary folder, and which child processes remain.

Every checkout runs with this interpreter (the project's .venv), each with its own TMPDIR so
its leftover files can be counted. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import history_scale
from app_process import CHROMIUM, CHROMIUM_ARGS, AppProcess, cpu_seconds, duet_script

ROOT = Path(__file__).resolve().parents[1]
SETTLE_S = 12.0  # seconds after a download before "what stays" is read (after the sweeps)
SESSION_TTL_S = 2  # the app's server.disconnectedSessionTTL here: a closed tab ends soon


def copy_database(url: str, to: Path) -> str:
    """A copy of the SQLite database at ``url`` for one checkout (an older one cannot open
    what a newer one has migrated)."""
    source = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{to}{suffix}")
    return f"sqlite:///{to}"


def migrate(code: Path, db: str) -> None:
    """Open the store with that checkout's code (which applies its migrations)."""
    script = "import sys; from duet_core.store import Store; Store(sys.argv[1]).close()"
    env = {**os.environ, "PYTHONPATH": str(code), "DUET_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-c", script, db], cwd=code, env=env, check=True)


def _rss(pid: int) -> float:
    """VmRSS of a process in MB (0 when it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def rss_mb(pid: int) -> tuple[float, float, list[int]]:
    """(the process's RSS, its descendants' RSS, descendant pids)."""
    kids = descendants(pid)
    return _rss(pid), sum(_rss(k) for k in kids), kids


def leftover_files(tmpdir: Path) -> list[Path]:
    return [p for p in tmpdir.rglob("*") if p.is_file()]


def measure(code: Path, db: str, args, tmp: Path) -> list[tuple[str, float, float, str]]:
    """[(step, app RSS MB, children RSS MB, note)] for one checkout."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=600_000)
    tmpdir = tmp / f"tmp-{code.name or 'root'}"
    tmpdir.mkdir()
    env = {
        "DUET_DEV_MODE": "1",
        "DUET_DATABASE_URL": db,
        "TMPDIR": str(tmpdir),
        "PYTHONPATH": str(code),
    }
    app = AppProcess(code, duet_script(code), env, tmp / f"streamlit-{code.name}.log")
    app.extra = [f"--server.disconnectedSessionTTL={SESSION_TTL_S}"]
    start_app(app)
    steps: list[tuple[str, float, float, str]] = []

    def step(name: str, note: str = "") -> None:
        own, kids, _ = rss_mb(app.pid)
        steps.append((name, own, kids, note))
        print(f"  [{code.name}] {name:28} app {own:7.0f} MB  children {kids:6.0f} MB  {note}",
              flush=True)  # fmt: skip

    try:
        step("started")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                          accept_downloads=True)  # fmt: skip
            page = context.new_page()
            page.goto(f"{app.url}/history")
            expect(page.get_by_text("filtered runs", exact=False).first).to_be_visible()
            idle(page)
            step("History open")
            warmed(app.pid, code)
            step("warm-up done", "(the local model mapped)" if LOCAL[code] else "")
            page.get_by_text("filtered runs", exact=False).first.click()
            toggle = page.locator(".st-key-export_compress input")
            toggle.wait_for(state="attached")
            if toggle.is_checked() != args.gzip:
                page.locator(".st-key-export_compress label").click()
                idle(page)
            c0, t0 = cpu_seconds(app.pid), time.perf_counter()
            label = {"csv": "CSV", "json": "JSON", "jsonl": "JSON Lines"}[args.format]
            page.locator(f".st-key-export_start_{args.format}").get_by_role("button").click()
            button = page.locator(".st-key-download_export_file").get_by_role("button")
            peak = 0.0
            while not button.is_visible():  # the progress bar runs; sample the memory
                own, kids, _ = rss_mb(app.pid)
                peak = max(peak, own + kids)
                page.wait_for_timeout(250)
            seconds = time.perf_counter() - t0
            cpu = cpu_seconds(app.pid) - c0
            step("export done", f"{label}: {seconds:.1f} s, app CPU {cpu:.1f} s, "
                 f"peak app+children {peak:.0f} MB")  # fmt: skip
            for i in range(1, args.downloads + 1):
                t0, c0 = time.perf_counter(), cpu_seconds(app.pid)
                with page.expect_download(timeout=600_000) as info:
                    button.click()
                path = Path(info.value.path())
                size = path.stat().st_size / 2**20
                seconds, cpu = time.perf_counter() - t0, cpu_seconds(app.pid) - c0
                step(
                    f"download {i} saved", f"{size:.1f} MB in {seconds:.1f} s, app CPU {cpu:.1f} s"
                )
                path.unlink()
                page.wait_for_timeout(SETTLE_S * 1000)
                step(f"  {SETTLE_S:.0f} s later")
            context.close()
            t0 = time.perf_counter()
            left = leftover_files(tmpdir)
            while left and time.perf_counter() - t0 < 60:
                time.sleep(0.5)
                left = leftover_files(tmpdir)
            names = ", ".join(p.name for p in left)
            gone = (
                f"{len(left)} file(s) still there after 60 s: {names}"
                if left
                else (f"files gone after {time.perf_counter() - t0:.1f} s")
            )
            _, _, kids = rss_mb(app.pid)
            step("tab closed", f"{gone}; child processes: {kids or 'none'}")
            browser.close()
    finally:
        app.stop()
    return steps


LOCAL: dict[Path, bool] = {}


def warmed(pid: int, code: Path) -> None:
    """Wait until the app's start-up warm-up has loaded the local model (when this machine has
    one: about 140 MB of the app's RSS, which would land in the middle of the figures), and the
    RSS has stopped moving."""
    if code not in LOCAL:
        probe = "from duet_core.providers.local import local_model_status as s; print(s()[0])"
        done = subprocess.run([sys.executable, "-c", probe], cwd=code, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(code)})  # fmt: skip
        LOCAL[code] = done.stdout.strip() == "True"
    end = time.monotonic() + 120
    maps = Path(f"/proc/{pid}/maps")
    while LOCAL[code] and ".gguf" not in maps.read_text() and time.monotonic() < end:
        time.sleep(0.25)
    samples: list[float] = []
    while time.monotonic() < end:
        samples = [*samples[-5:], rss_mb(pid)[0]]
        if len(samples) == 6 and max(samples) - min(samples) < 2:
            return
        time.sleep(0.5)


def start_app(app: AppProcess) -> None:
    """AppProcess.start with extra command-line options."""
    import urllib.error
    import urllib.request

    command = [
        sys.executable, "-m", "streamlit", "run", app.script, "--server.headless=true",
        "--server.address=127.0.0.1", f"--server.port={app.port}",
        "--server.fileWatcherType=none", "--browser.gatherUsageStats=false", *app.extra,
    ]  # fmt: skip
    with app.log.open("wb") as out:
        app.proc = subprocess.Popen(
            command, cwd=app.app_dir, env=app.env, stdout=out, stderr=subprocess.STDOUT
        )
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if app.proc.poll() is not None:
            break
        time.sleep(0.2)
    app.stop()
    raise RuntimeError(f"the app did not start: see {app.log}")


def idle(page) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2, help="1.0 = 10,000 runs")
    parser.add_argument("--code", type=Path, action="append", help="checkouts, oldest first")
    parser.add_argument("--gzip", action="store_true", help="export .csv.gz (default: plain)")
    parser.add_argument("--format", choices=("csv", "json", "jsonl"), default="csv")
    parser.add_argument("--downloads", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (app logs)")
    parser.add_argument("--db", help="a database made by an earlier run (--keep): no new one")
    args = parser.parse_args()
    codes = [c.resolve() for c in (args.code or [ROOT])]
    tmp = Path(tempfile.mkdtemp(prefix="duet-export-memory-", dir="/tmp"))
    try:
        db = args.db or f"sqlite:///{tmp / 'history.db'}"
        turns = "an earlier database's"
        if not args.db:
            script = str(codes[0] / "bench" / "history_scale.py")  # its own generator
            gen = history_scale.child(codes[0], "generate", db, script, scale=args.scale)
            turns = f"{gen['runs']:,} runs, {gen['turns']:,}"
        print(f"{db}: {turns} turns; format {args.format}{'.gz' if args.gzip else ''}; "
              f"checkouts: {', '.join(map(str, codes))}", flush=True)  # fmt: skip
        results = {}
        for code in codes:
            own = copy_database(db, tmp / f"{code.name or 'root'}.db")  # a newer one migrates
            migrate(code, own)  # not part of the figures
            results[code] = measure(code, own, args, tmp)
        names = "".join(f"{c.name or str(c):>20}" for c in codes)
        print(f"\n{'RSS MB (app + children)':28}{names}")
        for i, (name, *_rest) in enumerate(results[codes[0]]):
            cells = ""
            for code in codes:
                _, own, kids, _ = results[code][i]
                cells += f"{own + kids:>14.0f} ({kids:>3.0f})"
            print(f"{name:28}{cells}")
        for code in codes:
            print(f"{code.name}: {results[code][-1][3]}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("DUET_LOG_LEVEL", "WARNING")
    main()
