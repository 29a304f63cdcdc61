"""The Prompt Lab on many conversations: one set of edited settings tried on several sources
at once (fixtures, saved runs, the runs of an experiment), regenerating the same turn position
in each or continuing each by one turn. Writes nothing; a result is kept with ``save_branch``.

    sources = [load_fixture(name, folder) for name in names] + experiment_sources(store, ...)
    cells = plan(sources, "regenerate", 2, parse_sets(["temperature=1.3"]), store.prompts)
    many = ManyExperiment(cells, provider_for, prices).start()   # or run_many(...)
    for event in many.events_until_done(): ...                   # LabEvent, variant = cell
    rows = summary_rows(many)        # duet_core.lab.summary: one per source, then "All"

Each cell's request is built by the single-source code (``regenerate_request``,
``continue_request``), so a conversation that is not edited is replayed byte for byte. The
requests run as one ``Experiment`` (one thread each), every provider call waiting for its
endpoint's slot in ``ProviderLimits`` (the experiments' per-provider limits, backing off on
429s): by default one table for the whole process (``LAB_LIMITS``), so several people using the
Lab at once share it. A source that cannot be asked (no turn at that position, a person's turn)
is a cell with its ``problem`` and no request; the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from duet_core.batch.limits import PATIENCE, ProviderLimits, limited
from duet_core.errors import AccessDenied, ConfigError, NotFound
from duet_core.lab.edits import Edits
from duet_core.lab.requests import continue_request, find_turn, regenerate_request
from duet_core.lab.sources import LabSource, load_run
from duet_core.lab.variants import Experiment, LabEvent, LabRequest, VariantState
from duet_core.models import Turn
from duet_core.run.persona import TemplateSource
from duet_core.run.turn_stream import PriceTable, ProviderFor

MAX_SOURCES = 10
LAB_CONCURRENCY = 4  # requests in flight per provider endpoint from the Lab, by default
LAB_LIMITS = ProviderLimits(LAB_CONCURRENCY)  # this process's, shared by every Lab user
Action = Literal["regenerate", "continue"]
log = logging.getLogger("duet.lab")


def check_count(count: int) -> None:
    """``ConfigError`` unless 1 to ``MAX_SOURCES`` conversations are picked."""
    if count < 1:
        raise ConfigError("Pick at least one conversation (a fixture, a run or an experiment).")
    if count > MAX_SOURCES:
        raise ConfigError(
            f"{count} conversations picked: the Lab runs up to {MAX_SOURCES} at once."
            f" Pick {count - MAX_SOURCES} fewer."
        )


def experiment_sources(
    store: Any, experiment_id: str, username: str, is_admin: bool = False
) -> list[LabSource]:
    """The runs of an experiment the person may see (their own experiment, or any for an
    admin), in grid order; ``NotFound`` for an unknown experiment."""
    from duet_core.store.experiments import ExperimentQueue

    queue = ExperimentQueue(store)
    record = queue.get(experiment_id.strip())
    if record is None or not (is_admin or record.owner == username):
        raise NotFound(f"No experiment {experiment_id} that you may open.")
    found = []
    for run_id in queue.run_ids(record.id):
        try:
            source = load_run(store, run_id, username, is_admin=True)  # the experiment is theirs
        except (AccessDenied, ConfigError):
            continue  # deleted meanwhile
        found.append(LabSource(source.run, "run", f"run {run_id} ({record.name})"))
    if not found:
        raise ConfigError(f"Experiment {record.name} has no runs yet.")
    return found


def unique(sources: Sequence[LabSource]) -> list[LabSource]:
    """``sources`` without repeats (the same run picked as a run and through its experiment)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for s in sources:
        ident = (s.kind, s.run.id, "" if s.saved else s.label)
        if ident not in seen:
            seen.add(ident)
            out.append(s)
    return out


@dataclass(frozen=True)
class Cell:
    """One source in the grid: its request (None when it cannot be asked, see ``problem``)
    and the turn the result stands beside (the regenerated turn, or the last one)."""

    source: LabSource
    request: LabRequest | None
    original: Turn | None
    problem: str | None = None


def plan(
    sources: Sequence[LabSource],
    action: Action,
    index: int | None,
    edits: Edits | None = None,
    library: TemplateSource | None = None,
) -> list[Cell]:
    """A cell per source: turn ``index`` regenerated (``action`` ``"regenerate"``) or one more
    turn (``"continue"``), each with ``edits``. ``ConfigError`` for too many or no sources."""
    check_count(len(sources))
    if action not in ("regenerate", "continue"):
        raise ConfigError(f"The Lab regenerates or continues, not {action!r}.")
    if action == "regenerate" and index is None:
        raise ConfigError("Say which turn to regenerate.")
    cells = []
    for source in sources:
        run = source.run
        try:
            if action == "regenerate":
                assert index is not None
                original = find_turn(run, index)
                request = regenerate_request(run, index, edits, library)
            else:
                original = run.turns[-1] if run.turns else None
                request = continue_request(run, edits, library)
        except ConfigError as e:
            cells.append(Cell(source, None, None, e.message))
            continue
        cells.append(Cell(source, request, original))
    return cells


class ManyExperiment:
    """The grid's requests running at once (an ``Experiment`` of up to ``MAX_SOURCES``),
    every provider call within ``limits``. Events name the cell as their ``variant``."""

    def __init__(
        self,
        cells: Sequence[Cell],
        provider_for: ProviderFor,
        prices: PriceTable | None = None,
        logger: logging.Logger | logging.LoggerAdapter | None = None,
        limits: ProviderLimits | None = None,
        patience: float = PATIENCE,
    ):
        check_count(len(cells))
        self.cells = list(cells)
        runnable = [i for i, c in enumerate(self.cells) if c.request is not None]
        if not runnable:
            problems = "; ".join(f"{c.source.label}: {c.problem}" for c in self.cells)
            raise ConfigError(f"None of the conversations can be asked ({problems})")
        self._slot = {cell: n for n, cell in enumerate(runnable)}
        self._cell = runnable
        self.experiment = Experiment(
            [self.cells[i].request for i in runnable],  # type: ignore[misc]
            limited(provider_for, limits or LAB_LIMITS, patience),
            prices,
            logger,
            most=MAX_SOURCES,
        )

    def start(self) -> ManyExperiment:
        self.experiment.start()
        return self

    def stop(self) -> None:
        self.experiment.stop()

    def join(self, timeout: float | None = None) -> bool:
        return self.experiment.join(timeout)

    @property
    def done(self) -> bool:
        return self.experiment.done

    @property
    def variants(self) -> list[VariantState]:
        """The running requests' states (one per cell that was asked)."""
        return self.experiment.variants

    @property
    def notify(self) -> Callable[[], None] | None:
        """Called after each event (see ``Experiment.notify``): the HTTP API's wake-up."""
        return self.experiment.notify

    @notify.setter
    def notify(self, wake: Callable[[], None] | None) -> None:
        self.experiment.notify = wake

    def variant(self, cell: int) -> VariantState | None:
        """What cell ``cell`` has produced (None for a cell with a problem)."""
        slot = self._slot.get(cell)
        return None if slot is None else self.experiment.variants[slot]

    def drain(self, max_events: int | None = None, timeout: float = 0.0) -> list[LabEvent]:
        return [self._renamed(e) for e in self.experiment.drain(max_events, timeout)]

    def events_until_done(self, poll: float = 0.1) -> Iterator[LabEvent]:
        for event in self.experiment.events_until_done(poll):
            yield self._renamed(event)

    def _renamed(self, event: LabEvent) -> LabEvent:
        return LabEvent(
            event.type, self._cell[event.variant], event.content, event.turn, event.message
        )


def run_many(
    cells: Sequence[Cell],
    provider_for: ProviderFor,
    prices: PriceTable | None = None,
    on_event: Callable[[LabEvent], None] | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
    limits: ProviderLimits | None = None,
) -> ManyExperiment:
    """Run the grid to the end, calling ``on_event`` for each event; Ctrl-C stops it."""
    many = ManyExperiment(cells, provider_for, prices, logger, limits).start()
    try:
        for event in many.events_until_done():
            if on_event is not None:
                on_event(event)
    except KeyboardInterrupt:
        many.stop()
        many.join(5)
        raise
    many.join()
    return many
