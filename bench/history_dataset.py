"""The database bench/history_scale.py measures: ``10,000 x scale`` runs of 20 turns (about
560 characters a turn) plus one 200-turn run, written with bulk inserts by the checkout on
``sys.path`` (its own schema). Run in that checkout's child process (``--child generate``).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from history_browser import COMMON, LAST_TURN_MARK, NOTHING, RARE

RUNS_AT_SCALE_1 = 10_000
TURNS_PER_RUN = 20
LONG_RUN_TURNS = 200
TURN_CHARS = 560
RARE_RUNS = 5


def _vocabulary(rng: random.Random) -> list[str]:
    syllables = [a + b for a in ("k", "l", "m", "n", "r", "s", "t", "v", "z") for b in "aeiou"]
    words = {"".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(4000)}
    words |= {"café", "naïve", "Zürich", "façade", "the", "and", "of", "model"}
    return sorted(words - {RARE, COMMON, NOTHING, LAST_TURN_MARK})


def _text(rng: random.Random, vocab: list[str], extra: list[str]) -> str:
    words = rng.choices(vocab, k=100)
    for word in extra:  # early enough to survive the cut at TURN_CHARS
        words.insert(rng.randrange(50), word)
    return " ".join(words)[:TURN_CHARS].rsplit(" ", 1)[0] + "."


def child_generate(url: str, scale: float) -> dict:
    from sqlalchemy import insert

    from duet_core.models import BotConfig, RunConfig
    from duet_core.store import Store
    from duet_core.store.schema import runs, turns

    t0 = time.perf_counter()
    rng = random.Random(7)
    vocab = _vocabulary(rng)
    bots = [
        BotConfig(name="Ada", provider="demo", model="duet-demo", temperature=0.7),
        BotConfig(name="Bo", provider="demo", model="duet-demo", temperature=1.1),
    ]
    bot_json = [b.model_dump(mode="json") for b in bots]
    n_runs = max(2, round(RUNS_AT_SCALE_1 * scale))
    rare_runs = set(rng.sample(range(n_runs), RARE_RUNS))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store = Store(url)
    total_turns = 0
    run_rows: list[dict] = []
    turn_rows: list[dict] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            if run_rows:
                conn.execute(insert(runs), run_rows)
            if turn_rows:
                conn.execute(insert(turns), turn_rows)
        run_rows.clear()
        turn_rows.clear()

    for r in range(n_runs + 1):
        long = r == n_runs  # the newest run: 200 turns
        n = LONG_RUN_TURNS if long else TURNS_PER_RUN
        created = start + timedelta(minutes=r)
        run_id = "long200" if long else f"run{r:06d}"
        topic = f"Debate {r}: " + _text(rng, vocab, [])[:80]
        config = RunConfig(topic=topic, max_turns=n, bots=bots).model_dump(mode="json")
        tokens_in = tokens_out = 0
        for i in range(n):
            extra = [COMMON] if rng.random() < 0.5 else []
            if r in rare_runs and i == 7:
                extra.append(RARE)
            if long and i == n - 1:
                extra.append(LAST_TURN_MARK)
            t_start = created + timedelta(seconds=10 * i)
            turn_rows.append(
                {
                    "run_id": run_id,
                    "index": i,
                    "bot_index": i % 2,
                    "bot_name": bots[i % 2].name,
                    "provider": "demo",
                    "model": "duet-demo",
                    "content": _text(rng, vocab, extra),
                    "thinking": "",
                    "config": bot_json[i % 2],
                    "started_at": t_start,
                    "finished_at": t_start + timedelta(seconds=3),
                    "ttft_ms": 100.0 + i,
                    "latency_ms": 3000.0 + 7 * i,
                    "input_tokens": 100 + i,
                    "output_tokens": 120 + i % 9,
                    "cost_usd": 0.0001,
                    "finish_reason": "stop",
                }
            )
            tokens_in += 100 + i
            tokens_out += 120 + i % 9
        total_turns += n
        run_rows.append(
            {
                "id": run_id,
                "owner": "dev",
                "status": "completed",
                "stop_reason": "max_turns",
                "error": None,
                "created_at": created,
                "finished_at": created + timedelta(seconds=10 * n),
                "updated_at": created + timedelta(seconds=10 * n),
                "topic": topic,
                "max_turns": n,
                "config": config,
                "bot0_name": "Ada",
                "bot0_provider": "demo",
                "bot0_model": "duet-demo",
                "bot1_name": "Bo",
                "bot1_provider": "demo",
                "bot1_model": "duet-demo",
                "turn_count": n,
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "cost_usd": 0.0001 * n,
                "unpriced_turns": 0,
            }
        )
        if len(turn_rows) >= 5000:
            flush()
    flush()
    store.close()
    return {"runs": n_runs + 1, "turns": total_turns, "seconds": time.perf_counter() - t0}


def stamp_real_revision(url: str) -> None:
    """A checkout whose migrations 0002-0004 were reserved no-ops records revision 0004 on a
    database that has only 0001's tables; record 0001, so a newer checkout really migrates."""
    from sqlalchemy import create_engine, inspect, text

    from duet_core.store import database_url

    engine = create_engine(database_url(url))
    try:
        if "prompt_templates" not in inspect(engine).get_table_names():
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    finally:
        engine.dispose()
