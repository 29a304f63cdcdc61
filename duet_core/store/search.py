"""Full-text search over run topics and turn contents, with each database's own engine.

SQLite: FTS5 tables ``runs_fts`` (topic; external content) and ``turns_fts`` (content;
contentless, each rowid naming the run so a match never reads the turns table), kept in step
with their tables by triggers. PostgreSQL: GIN indexes on ``to_tsvector('duet', ...)``,
where ``duet`` is a text search configuration (``simple`` + ``unaccent`` when that extension is
available). Both are created by migration 0003, which also indexes the rows already there.

What a search means, on both databases alike: the query is cut into words (letters and digits;
quotes, operators and other punctuation only separate words, so no query is ever a syntax
error); a run matches when its topic, or one of its turns, contains every word as the start of
a word, ignoring case and accents (``cafe`` finds "Café" and "cafeteria"). A query with no word
in it matches nothing.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, false, text

MAX_WORDS = 16
WORD = re.compile(r"[^\W_]+")  # the tokenizers' idea of a word: letters and digits

# the objects migration 0003 creates; schema comparisons skip them
SQLITE_TABLES = ("runs_fts", "turns_fts")
PG_INDEXES = ("ix_runs_topic_search", "ix_turns_content_search")
PG_CONFIG = "duet"
TURN_BITS = 20  # as migration 0003: turns_fts rowid = run rowid << 20 | turn index


def query_words(search: str) -> list[str]:
    """The words of a search box entry, lower-cased, at most ``MAX_WORDS``."""
    return [w.lower() for w in WORD.findall(search)][:MAX_WORDS]


def sqlite_match(words: list[str]) -> str:
    """An FTS5 MATCH expression: every word as a quoted prefix (implicit AND)."""
    return " ".join(f'"{w}"*' for w in words)


def pg_tsquery(words: list[str]) -> str:
    """A ``to_tsquery`` text: every word as a prefix, AND-ed."""
    return " & ".join(f"{w}:*" for w in words)


def condition(dialect: str, search: str) -> ColumnElement[bool]:
    """A WHERE condition on the ``runs`` table: the run's topic or a turn matches."""
    words = query_words(search)
    if not words:
        return false()
    if dialect == "sqlite":  # a turns_fts rowid is its run's rowid * TURN_SLOTS + its index
        return text(
            "runs.rowid IN (SELECT rowid FROM runs_fts WHERE runs_fts MATCH :duet_search"
            f" UNION SELECT rowid >> {TURN_BITS} FROM turns_fts WHERE turns_fts MATCH :duet_search)"
        ).bindparams(duet_search=sqlite_match(words))
    # one set of run ids from both GIN indexes (an OR on the outer table would scan it)
    return text(
        "runs.id IN (SELECT r.id FROM runs AS r WHERE"
        f" to_tsvector('{PG_CONFIG}', r.topic) @@ to_tsquery('{PG_CONFIG}', :duet_search)"
        " UNION SELECT t.run_id FROM turns AS t WHERE"
        f" to_tsvector('{PG_CONFIG}', t.content) @@ to_tsquery('{PG_CONFIG}', :duet_search))"
    ).bindparams(duet_search=pg_tsquery(words))


def is_search_object(name: str | None) -> bool:
    """True for the FTS5 tables, their shadow tables (``turns_fts_data``, ...) and the
    PostgreSQL search indexes."""
    if not name:
        return False
    return name in PG_INDEXES or any(name == t or name.startswith(t + "_") for t in SQLITE_TABLES)
