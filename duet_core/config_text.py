"""Reading a config file a person wrote: bytes to text to plain data, one clear error each.

Editors save files in more than one way: a UTF-8 byte order mark is accepted, as are UTF-16
and UTF-32 files that start with their byte order mark (unambiguous). Anything else must be
UTF-8; a Latin-1 or Windows-1252 file is refused with the place of the first odd byte rather
than guessed at. Nesting deeper than any config needs is refused before the parser recurses.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

import yaml

from duet_core.errors import ConfigError

MAX_DEPTH = 64  # a RunConfig nests 4 deep; anything past this is not a config
MAX_BYTES = 5_000_000
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(raw: bytes, name: str = "the file") -> str:
    """The text of a config file (see the module docstring for which encodings)."""
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{name} is {len(raw):,} bytes; a config file is far smaller.")
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{name} is not {encoding.upper().removesuffix('-SIG')} text (byte 0x{raw[e.start]:02X}"
            f" at position {e.start}): save it as UTF-8."
        ) from None


def _depth(text: str) -> int:
    """An upper bound on the nesting of brackets and braces (quotes ignored: only a bound)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def parse(text: str, yaml_format: bool) -> Any:
    """JSON or YAML text to plain data; ``ConfigError`` for anything that is not."""
    kind = "YAML" if yaml_format else "JSON"
    if _depth(text) > MAX_DEPTH:
        # counted over the raw text, so brackets inside strings count too: real configs
        # never come near this
        raise ConfigError(f"Not a valid config: {kind} nested more than {MAX_DEPTH} levels deep.")
    try:
        return yaml.safe_load(text) if yaml_format else json.loads(text)
    except yaml.MarkedYAMLError as e:
        raise ConfigError(f"Not valid YAML: {_yaml_problem(e)}") from None
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"Not valid {kind}: {str(e).splitlines()[0]}") from None
    except RecursionError:  # indentation-nested YAML, which has no brackets to count
        raise ConfigError(f"Not a valid config: {kind} nested too deeply.") from None
    except ValueError as e:  # e.g. an integer with too many digits
        raise ConfigError(f"Not valid {kind}: {e}") from None


def _yaml_problem(e: yaml.MarkedYAMLError) -> str:
    """What is wrong and where (the parser's own first line only says what it was doing):
    ``expected ',' or ']', but got '?' at line 3, column 18``, with a hint for the usual
    cause, text with ``?``, ``:`` or ``#`` in it that needs quotes."""
    problem = e.problem or e.context or "cannot parse"
    mark = e.problem_mark or e.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    hint = ""
    if any(f"'{c}'" in problem for c in "?:#") or "mapping values" in problem:
        hint = ': put text that has ?, : or # in it between quotes ("Ban cars?")'
    return f"{problem}{where}{hint}"
