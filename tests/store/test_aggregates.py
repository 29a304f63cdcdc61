"""A run's aggregates move by each saved turn (O(1)) and equal a sum over its turns."""

from __future__ import annotations

from sqlalchemy import select

from duet_core.models import Turn
from duet_core.store.schema import runs


def aggregates(store, run_id: str) -> tuple:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(
                runs.c.turn_count,
                runs.c.input_tokens,
                runs.c.output_tokens,
                runs.c.cost_usd,
                runs.c.unpriced_turns,
            ).where(runs.c.id == run_id)
        ).one()
    return (row[0], row[1], row[2], round(row[3], 8), row[4])


def test_saved_and_replaced_turns_keep_the_aggregates_right(store, make_run, make_turn) -> None:
    run = make_run()
    store.create_run(run)
    store.save_turn(run.id, make_turn(run, 0, cost=0.25))
    store.save_turn(run.id, make_turn(run, 1, cost=None))  # a bot turn without a price
    person = Turn(index=2, bot_index=None, bot_name="Mo", content="hi", finish_reason="person")
    store.save_turn(run.id, person)
    assert aggregates(store, run.id) == (3, 201, 101, 0.25, 1)
    store.save_turn(run.id, make_turn(run, 1, cost=0.5))  # the same index again: replaced
    assert aggregates(store, run.id) == (3, 201, 101, 0.75, 0)
    saved = store.get_run(run.id)
    assert [t.cost_usd for t in saved.turns] == [0.25, 0.5, None]
    assert sum(t.input_tokens or 0 for t in saved.turns) == 201
