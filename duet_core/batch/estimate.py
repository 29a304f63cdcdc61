"""What an experiment will cost at most, shown before it starts (``batch run``, ``batch
submit``, the Experiments page): every reply at its bot's ``max_tokens`` and each run to its
``max_turns``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from duet_core import catalog
from duet_core.models import RunConfig

if TYPE_CHECKING:
    from duet_core.batch.experiment import Experiment


@dataclass(frozen=True)
class Estimate:
    """At most how much the experiment uses: every reply at its bot's ``max_tokens`` and each
    run to its ``max_turns`` (capped by the server's turn limit and the run's token budget).
    ``cost_usd`` counts the priced models only; ``unpriced`` names the others."""

    runs: int
    turns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced: tuple[str, ...] = ()

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def describe(self) -> str:
        cost = f"${self.cost_usd:,.2f}"
        if self.unpriced:
            cost += f" (no price for {', '.join(self.unpriced)})"
        return (
            f"{self.runs:,} runs, {self.turns:,} turns; at most {self.tokens:,} tokens "
            f"({self.input_tokens:,} in, {self.output_tokens:,} out) and {cost}, "
            "counting every reply at its max_tokens"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "turns": self.turns,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "unpriced": list(self.unpriced),
        }


def _run_estimate(
    config: RunConfig, max_turns: int, prices: catalog.PriceTable | None
) -> tuple[int, int, int, float, set[str]]:
    turns = min(config.max_turns, max_turns)
    topic = catalog.estimate_tokens(config.topic)
    said = 0  # tokens written so far: every later turn reads them
    tokens_in = tokens_out = 0
    cost, unpriced = 0.0, set()
    for k in range(turns):
        bot = config.bots[(config.first_speaker + k) % 2]
        used_in = catalog.estimate_tokens(bot.system_prompt) + topic + said
        used_out = bot.max_tokens
        if config.max_total_tokens and tokens_in + tokens_out + used_in >= config.max_total_tokens:
            break
        tokens_in += used_in
        tokens_out += used_out
        said += used_out
        price = catalog.cost_usd(bot.model, used_in, used_out, prices, provider=bot.provider)
        if price is None:
            unpriced.add(f"{bot.provider}:{bot.model}")
        else:
            cost += price
        if config.max_cost_usd and cost >= config.max_cost_usd:
            turns = k + 1
            break
    return turns, tokens_in, tokens_out, cost, unpriced


def estimate(
    experiment: Experiment, prices: catalog.PriceTable | None = None, max_turns: int = 1_000
) -> Estimate:
    """The experiment's ``Estimate`` (``max_turns``: the server's DUET_MAX_TURNS)."""
    seen: dict[str, tuple[int, int, int, float, set[str]]] = {}
    turns = tokens_in = tokens_out = 0
    cost, unpriced = 0.0, set()
    for cell in experiment.cells:
        key = cell.config.model_dump_json()
        if key not in seen:
            seen[key] = _run_estimate(cell.config, max_turns, prices)
        t, i, o, c, u = seen[key]
        turns, tokens_in, tokens_out, cost = turns + t, tokens_in + i, tokens_out + o, cost + c
        unpriced |= u
    return Estimate(experiment.runs, turns, tokens_in, tokens_out, cost, tuple(sorted(unpriced)))
