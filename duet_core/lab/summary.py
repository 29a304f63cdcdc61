"""The summary of the Lab on many conversations: a row per source (its figures beside the
original's length) and the "All" row. Pure: reads a ``ManyExperiment``'s states."""

from __future__ import annotations

from statistics import mean
from typing import TYPE_CHECKING, Any

from duet_core.lab.variants import VariantState
from duet_core.models import Turn

if TYPE_CHECKING:
    from duet_core.lab.many import Cell, ManyExperiment


def word_count(text: str | None) -> int:
    return len((text or "").split())


def _status(cell: Cell, state: VariantState | None) -> str:
    if state is None:
        return f"not asked: {cell.problem}"
    if not state.finished:
        return "running"
    if state.error is not None:
        return f"failed: {state.error}"
    return "done"


def summary_rows(many: ManyExperiment) -> list[dict[str, Any]]:
    """One row per source (its figures beside the original's length), then the summary row
    ``All``: tokens and cost summed, latency and TTFT averaged, and the mean length (words)
    per source of the originals and of the results."""
    rows: list[dict[str, Any]] = []
    results: list[Turn] = []
    for i, cell in enumerate(many.cells):
        state = many.variant(i)
        turn = state.turn if state is not None and state.finished else None
        if turn is not None and state is not None and state.error is None:
            results.append(turn)
        rows.append(
            {
                "source": cell.source.label,
                "status": _status(cell, state),
                "original words": word_count(cell.original.content) if cell.original else None,
                "result words": word_count(turn.content) if turn else None,
                "input tokens": turn.input_tokens if turn else None,
                "output tokens": turn.output_tokens if turn else None,
                "cost (USD)": turn.cost_usd if turn else None,
                "latency (ms)": round(turn.latency_ms) if turn and turn.latency_ms else None,
                "TTFT (ms)": round(turn.ttft_ms) if turn and turn.ttft_ms else None,
            }
        )
    originals = [c.original for c in many.cells if c.original is not None]

    def total(field: str) -> int | float | None:
        values = [getattr(t, field) for t in results if getattr(t, field) is not None]
        return sum(values) if values else None

    def average(field: str) -> int | None:
        values = [getattr(t, field) for t in results if getattr(t, field) is not None]
        return round(mean(values)) if values else None

    failed = sum(1 for r in rows if r["status"] != "done")
    rows.append(
        {
            "source": f"All ({len(many.cells)})",
            "status": f"{len(results)} done" + (f", {failed} not" if failed else ""),
            "original words": round(mean(word_count(t.content) for t in originals), 1)
            if originals
            else None,
            "result words": round(mean(word_count(t.content) for t in results), 1)
            if results
            else None,
            "input tokens": total("input_tokens"),
            "output tokens": total("output_tokens"),
            "cost (USD)": total("cost_usd"),
            "latency (ms)": average("latency_ms"),
            "TTFT (ms)": average("ttft_ms"),
        }
    )
    return rows
