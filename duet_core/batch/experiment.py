"""The experiment file (docs/design.md, "Experiments (batches)"): a base run config, topics, a
grid of values over run-config paths, repeats. Read, checked and expanded into cells before
anything runs; every problem is one ``ConfigError`` line that names it.

    experiment = load_experiment("sweep.yaml")
    experiment.cells        # one Cell per run: its values, its repeat, its RunConfig

Its estimate (runs, turns, tokens and cost at most) is ``batch/estimate.py``. A path names a
run-config field the way people write it: ``max_turns``, ``bots[1].model``,
``bots[0].temperature``, ``bots[0].prompt.version`` (``bots.1.model`` is read the same).
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from duet_core import config_text
from duet_core.batch.paths import check_path, path_text, set_path
from duet_core.errors import ConfigError
from duet_core.models import RunConfig, describe_validation_error, validated

MAX_RUNS = 100_000  # one experiment; a bigger sweep is several experiments


class ExperimentTooLarge(ConfigError):
    """More runs than the server lets one person submit at once (DUET_MAX_EXPERIMENT_RUNS)."""


MAX_TOPICS_BYTES = 50_000_000
REPEAT = "repeat"  # the cell key that numbers a cell's runs (0, 1, ...)
TOPIC = "topic"


class ExperimentSpec(BaseModel):
    """The experiment file as written. ``resolved()`` gives the self-contained form that is
    stored with the experiment (``base`` read into ``run``, ``topics_file`` into ``topics``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    run: dict[str, Any] | None = None
    base: str | None = None
    topics: list[Any] | None = None
    topics_file: str | None = None
    vary: dict[str, list[Any]] = {}
    repeats: Annotated[int, Field(ge=1, le=10_000)] = 1
    concurrency: Annotated[int, Field(ge=1, le=1_000)] = 4
    budget_usd: Annotated[float, Field(gt=0)] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("give the experiment a name")
        return v


@dataclass(frozen=True)
class Cell:
    """One run of the grid: ``values`` (topic and each varied path, as written in the file,
    plus ``repeat``) and the run config they make."""

    index: int
    values: dict[str, Any]
    config: RunConfig

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """The cell without its repeat: runs with the same key are repeats of one cell."""
        return tuple((k, json.dumps(v)) for k, v in self.values.items() if k != REPEAT)


@dataclass
class Experiment:
    """A checked experiment: its resolved spec and one cell per run, in grid order (topic, then
    each varied path in the file's order, then the repeat)."""

    spec: ExperimentSpec
    cells: list[Cell] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def runs(self) -> int:
        return len(self.cells)


# --- reading -----------------------------------------------------------------------------


def _read_text(path: Path, what: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"Cannot read {what} {path}: {e.strerror or e}") from None
    return config_text.decode(raw, str(path))


def read_topics_file(path: Path) -> list[str]:
    """Topics from a CSV file with a ``topic`` column, or a JSONL file (each line a string or an
    object with ``topic``)."""
    if path.is_file() and path.stat().st_size > MAX_TOPICS_BYTES:
        raise ConfigError(f"topics_file {path} is larger than {MAX_TOPICS_BYTES:,} bytes.")
    text = _read_text(path, "topics_file")
    suffix = path.suffix.lower()
    topics: list[str] = []
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or TOPIC not in [f.strip() for f in reader.fieldnames]:
            raise ConfigError(f"topics_file {path}: no 'topic' column in its first line.")
        column = next(f for f in reader.fieldnames if f.strip() == TOPIC)
        for line, row in enumerate(reader, start=2):
            topic = (row.get(column) or "").strip()
            if not topic:
                raise ConfigError(f"topics_file {path}, line {line}: the topic is empty.")
            topics.append(topic)
    elif suffix in (".jsonl", ".ndjson"):
        for line, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as e:
                raise ConfigError(f"topics_file {path}, line {line}: not JSON ({e.msg}).") from None
            if isinstance(item, dict):
                item = item.get(TOPIC)
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(
                    f"topics_file {path}, line {line}: give a string or an object with a "
                    "'topic' string."
                )
            topics.append(item.strip())
    else:
        raise ConfigError(f"topics_file {path}: use a .csv file (a 'topic' column) or .jsonl.")
    return topics


def load_experiment(path: str | Path) -> Experiment:
    """Read, check and expand the experiment file at ``path`` (YAML or JSON by its extension;
    ``base`` and ``topics_file`` are found relative to its folder)."""
    path = Path(path)
    text = _read_text(path, "the experiment file")
    data = config_text.parse(text, yaml_format=path.suffix.lower() in (".yaml", ".yml"))
    return experiment_from_data(data, base_dir=path.parent)


def experiment_from_data(
    data: Any, base_dir: Path | None = None, max_runs: int | None = None
) -> Experiment:
    """Check and expand an experiment given as plain data. Without ``base_dir`` (the HTTP API)
    ``base`` and ``topics_file`` are refused: the run and topics must be given inline.
    ``max_runs``: the server's ceiling per person (``DUET_MAX_EXPERIMENT_RUNS``), checked
    before any cell is built (``ExperimentTooLarge``)."""
    if not isinstance(data, dict):
        raise ConfigError("An experiment is a mapping with name, run (or base), vary ...")
    spec = validated(ExperimentSpec, data, strict=True)
    return expand(_resolved(spec, base_dir), max_runs)


def _resolved(spec: ExperimentSpec, base_dir: Path | None) -> ExperimentSpec:
    """The spec with ``base`` read into ``run`` and ``topics_file`` into ``topics``."""
    if (spec.run is None) == (spec.base is None):
        raise ConfigError("Give the base run one way: run (a run config inline) or base (a file).")
    if spec.topics is not None and spec.topics_file is not None:
        raise ConfigError("Give topics one way: topics (a list) or topics_file, not both.")
    run = spec.run
    if spec.base is not None:
        if base_dir is None:
            raise ConfigError("base names a file: send the run config inline as run instead.")
        base_path = base_dir / spec.base
        text = _read_text(base_path, "base")
        run = config_text.parse(text, yaml_format=base_path.suffix.lower() in (".yaml", ".yml"))
        if not isinstance(run, dict):
            raise ConfigError(f"base {base_path}: not a run config (a mapping).")
    topics = spec.topics
    if spec.topics_file is not None:
        if base_dir is None:
            raise ConfigError("topics_file names a file: send the topics inline instead.")
        topics = read_topics_file(base_dir / spec.topics_file)
    if topics is not None:
        for i, t in enumerate(topics):
            if not isinstance(t, str) or not t.strip():
                raise ConfigError(f"topics[{i}]: each topic is a non-empty string.")
        topics = [t.strip() for t in topics]
    return spec.model_copy(update={"run": run, "base": None, "topics": topics, "topics_file": None})


# --- the grid ----------------------------------------------------------------------------


def _describe_cell(values: dict[str, Any]) -> str:
    shown = {k: (v if len(str(v)) <= 60 else str(v)[:57] + "...") for k, v in values.items()}
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())


def expand(spec: ExperimentSpec, max_runs: int | None = None) -> Experiment:
    """The grid of a resolved spec: topics x each varied path's values x repeats, each cell's
    run config validated (strictly, as a run file is). ConfigError names the first problem."""
    base = copy.deepcopy(spec.run or {})
    paths: list[tuple[str, list[str | int], list[Any]]] = []
    for raw_path, values in spec.vary.items():
        parts = check_path(raw_path)
        name = path_text(parts)
        if parts == [TOPIC] and spec.topics is not None:
            raise ConfigError("vary: topic is given by topics already; vary one or the other.")
        if any(p[0] == name for p in paths):
            raise ConfigError(f"vary: '{raw_path}' is given twice.")
        if not values:
            raise ConfigError(f"The grid is empty: vary {name} has no values.")
        paths.append((name, parts, values))
    topics = spec.topics
    if topics is not None and not topics:
        raise ConfigError("The grid is empty: topics has no topics.")
    sizes = [len(topics or [None]), *(len(v) for _, _, v in paths), spec.repeats]
    total = math.prod(sizes)
    if total > MAX_RUNS:
        raise ConfigError(
            f"The grid has {total:,} runs ({' x '.join(map(str, sizes))}); at most {MAX_RUNS:,} "
            "per experiment: split it into several."
        )
    if max_runs is not None and total > max_runs:
        raise ExperimentTooLarge(
            f"The grid has {total:,} runs ({' x '.join(map(str, sizes))}); this server lets "
            f"one person submit at most {max_runs:,} runs per experiment "
            "(DUET_MAX_EXPERIMENT_RUNS): make the grid smaller or split it."
        )
    if topics:
        base[TOPIC] = topics[0]  # each cell's config is checked with the first topic
    # each combination of varied values is checked once; topics only change the topic
    combos: list[tuple[dict[str, Any], RunConfig]] = []
    for chosen in itertools.product(*(v for _, _, v in paths)):
        data = copy.deepcopy(base)
        values = {}
        for (name, parts, _), value in zip(paths, chosen, strict=True):
            set_path(data, parts, value)
            values[name] = value
        try:
            config = RunConfig.model_validate(data, strict=True)
        except ValidationError as e:
            where = f"cell {_describe_cell(values)}: " if values else "run: "
            raise ConfigError(f"{where}{describe_validation_error(e)}") from None
        combos.append((values, config))
    cells: list[Cell] = []
    for i, topic in enumerate(topics or [None]):
        if topic is not None:
            try:
                validated(RunConfig, {**combos[0][1].model_dump(), TOPIC: topic})
            except ConfigError as e:
                raise ConfigError(f"topics[{i}]: {e.message}") from None
        for values, config in combos:
            if topic is not None:
                config = config.model_copy(update={TOPIC: topic})
                values = {TOPIC: topic, **values}
            for r in range(spec.repeats):
                cells.append(Cell(len(cells), {**values, REPEAT: r}, config))
    return Experiment(spec, cells)
