"""A word-level diff between the original turn and a Lab variant (pure; the page draws it).

    ops = word_diff("Tea is calm.", "Tea is bold and calm.")
    # [("same", "Tea is "), ("insert", "bold and "), ("same", "calm.")]

Words are compared with ``difflib.SequenceMatcher`` (no junk heuristics, so long replies are
compared exactly); the whitespace between words belongs to the word before it, so joining the
pieces of one side gives that side's text back.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

Op = Literal["same", "insert", "delete"]
_WORD = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class DiffStats:
    """How many words a variant kept, added and removed against the original."""

    same: int
    inserted: int
    deleted: int

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.deleted)

    def summary(self) -> str:
        """``+12 −3 words`` (or ``same words as the original``)."""
        if not self.changed:
            return "same words as the original"
        return f"+{self.inserted} −{self.deleted} words"


def words(text: str) -> list[str]:
    """``text`` as words, each with the whitespace after it."""
    return _WORD.findall(text or "")


def word_diff(original: str, variant: str) -> list[tuple[Op, str]]:
    """The pieces that turn ``original`` into ``variant``: ``same`` text, ``delete``d words of
    the original and ``insert``ed words of the variant, in reading order (deletions before
    the insertions that replace them); adjacent pieces of one kind are merged."""
    a, b = words(original), words(variant)
    key_a, key_b = [w.strip() for w in a], [w.strip() for w in b]
    matcher = difflib.SequenceMatcher(None, key_a, key_b, autojunk=False)
    out: list[tuple[Op, str]] = []

    def add(op: Op, pieces: list[str]) -> None:
        text = "".join(pieces)
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("same", b[j1:j2])  # the variant's spacing
        else:
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return out


def diff_stats(original: str, variant: str) -> DiffStats:
    a, b = words(original), words(variant)
    matcher = difflib.SequenceMatcher(
        None, [w.strip() for w in a], [w.strip() for w in b], autojunk=False
    )
    same = sum(block.size for block in matcher.get_matching_blocks())
    return DiffStats(same, len(b) - same, len(a) - same)
