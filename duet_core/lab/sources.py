"""Where the Prompt Lab's conversation comes from: a saved run the person may see, an uploaded
transcript JSON (``duet.transcript/1``), or a fixture file in ``DUET_FIXTURES_DIR``
(default ``examples/fixtures/``). Reading only: nothing here writes to the database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from duet_core.errors import AccessDenied, ConfigError
from duet_core.exports.transcript import SCHEMA, transcript_from_json
from duet_core.models import Run

if TYPE_CHECKING:
    from duet_core.settings import Settings

DEFAULT_FIXTURES_DIR = Path("examples/fixtures")
MAX_TRANSCRIPT_BYTES = 20_000_000
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SourceKind = Literal["run", "upload", "fixture"]


class RunReader(Protocol):
    def get_run(self, run_id: str) -> Run | None: ...


@dataclass(frozen=True)
class LabSource:
    """A conversation loaded into the Lab. ``saved`` when it is a run in this database (so a
    branch's ``parent_id`` points at it)."""

    run: Run
    kind: SourceKind
    label: str

    @property
    def saved(self) -> bool:
        return self.kind == "run"


def fixtures_dir(settings: Settings) -> Path:
    """``DUET_FIXTURES_DIR`` (``settings.fixtures_dir``), else examples/fixtures."""
    return settings.fixtures_dir or DEFAULT_FIXTURES_DIR


def list_fixtures(directory: Path) -> list[str]:
    """The fixture files' names (``*.json``), sorted; [] when the folder does not exist."""
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.glob("*.json") if p.is_file())


def load_fixture(name: str, directory: Path) -> LabSource:
    """The fixture ``name`` (a file name in ``directory``; no path outside it)."""
    if Path(name).name != name or not name.endswith(".json"):
        raise ConfigError(f"'{name}' is not a fixture: pick a .json file name from {directory}")
    path = directory / name
    if not path.is_file():
        available = ", ".join(list_fixtures(directory)) or "none"
        raise ConfigError(f"No fixture '{name}' in {directory} (available: {available})")
    return LabSource(read_transcript_file(path), "fixture", f"fixture {name}")


def read_transcript_file(path: Path) -> Run:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"Cannot read {path}: {e.strerror or e}") from None
    try:
        return read_transcript(data)
    except ConfigError as e:
        raise ConfigError(f"{path.name}: {e.message}") from None


def read_transcript(data: bytes | str) -> Run:
    """A ``duet.transcript/1`` document as a Run, or ConfigError saying what is wrong with it."""
    if isinstance(data, bytes):
        if len(data) > MAX_TRANSCRIPT_BYTES:
            raise ConfigError(
                f"The file is {len(data) / 1e6:.0f} MB; a transcript may be at most"
                f" {MAX_TRANSCRIPT_BYTES / 1e6:.0f} MB."
            )
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ConfigError("Not a transcript: the file is not UTF-8 text.") from None
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"Not a transcript: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})."
        ) from None
    if isinstance(doc, list):
        raise ConfigError(
            f"This file holds a list of {len(doc)} transcripts (a bulk download);"
            " upload the transcript of one run."
        )
    if not isinstance(doc, dict):
        raise ConfigError('Not a transcript: expected a JSON object with "schema", "run", "turns".')
    schema = doc.get("schema")
    if schema != SCHEMA:
        if isinstance(schema, str) and schema.startswith("duet.transcript/"):
            raise ConfigError(
                f'This transcript is version "{schema}"; this Duet reads "{SCHEMA}".'
                " Export it again from a matching Duet."
            )
        raise ConfigError(f'Not a Duet transcript: expected "schema": "{SCHEMA}".')
    run = transcript_from_json(data)
    if not any(t.bot_index is not None for t in run.turns):
        raise ConfigError("This transcript has no bot turns to regenerate or continue from.")
    return run


def load_run(reader: RunReader, run_id: str, username: str, is_admin: bool = False) -> LabSource:
    """A saved run the person may see: their own, or any run for an admin."""
    run_id = run_id.strip()
    if not RUN_ID.match(run_id):
        raise ConfigError(f"'{run_id}' is not a run id (see `python -m duet_core runs`).")
    run = reader.get_run(run_id)
    if run is None or not (is_admin or run.owner == username):
        raise AccessDenied(f"No run {run_id} that you may open (see `python -m duet_core runs`).")
    return LabSource(run, "run", f"run {run_id}")


def resolve(
    source: str,
    reader: RunReader | None,
    username: str,
    is_admin: bool = False,
    directory: Path | None = None,
) -> LabSource:
    """The command line's SOURCE: a transcript JSON file (a path, or a fixture's name), or a
    run id in the database."""
    path = Path(source)
    if source.lower().endswith(".json") or path.is_file():
        if path.is_file():
            return LabSource(read_transcript_file(path), "upload", path.name)
        if directory is not None and (directory / path.name).is_file() and path.name == source:
            return load_fixture(source, directory)
        raise ConfigError(f"No file {source}")
    if reader is None:
        raise ConfigError(f"'{source}' is not a file; give a transcript JSON file or a run id.")
    return load_run(reader, source, username, is_admin)
