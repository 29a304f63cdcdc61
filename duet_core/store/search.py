"""Full-text search over runs (their topics and turns), with each database's own engine.

Migration 0005 builds the index and keeps it in step with triggers; it also indexes the rows
already there. Both databases key it by run, never by the runs table's implicit rowid:

- SQLite: ``run_search`` gives each run a stable integer ``key``; one contentless FTS5 table
  ``run_search_fts`` holds topics and turns, each entry's rowid ``key << SLOT_BITS | slot``
  (slot 0 the topic, slot i + 1 turn i), so a match names its run without reading the turns.
- PostgreSQL: ``run_search`` holds each run's distinct words as one stripped ``tsvector``
  (a second row when they outgrow one), GIN-indexed under the text search configuration
  ``duet`` (``simple`` + ``unaccent`` when that extension is available). A search reads one
  index entry per run, however many of its turns match.

What a search means, on both databases alike: the query is cut into words (letters and digits;
quotes, operators and other punctuation only separate words, so no query is ever a syntax
error); a run matches when every word is the start of a word somewhere in it (its topic or
any of its turns), ignoring case and accents (``cafe`` finds "Café" and "cafeteria"). A query
with no word in it matches nothing.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Connection, false, text

MAX_WORDS = 16
WORD = re.compile(r"[^\W_]+")  # the tokenizers' idea of a word: letters and digits

# the objects migration 0005 creates outside the ORM; schema comparisons skip them
SEARCH_TABLES = ("run_search", "run_search_fts")
SQLITE_TABLES = ("run_search_fts",)  # FTS5 tables (each has shadow tables run_search_fts_*)
PG_CONFIG = "duet"
SLOT_BITS = 32  # as migration 0005: run_search_fts rowid = run key << 32 | slot


def query_words(search: str) -> list[str]:
    """The words of a search box entry, lower-cased, at most ``MAX_WORDS``."""
    return [w.lower() for w in WORD.findall(search)][:MAX_WORDS]


def sqlite_match(word: str) -> str:
    """An FTS5 MATCH expression: the word as a quoted prefix."""
    return f'"{word}"*'


def pg_tsquery(word: str) -> str:
    """A ``to_tsquery`` text: the word as a prefix (``&`` joins several)."""
    return f"{word}:*"


def condition(dialect: str, search: str) -> ColumnElement[bool]:
    """A WHERE condition on the ``runs`` table: every word of ``search`` is in the run."""
    words = query_words(search)
    if not words:
        return false()
    if dialect == "sqlite":
        return _sqlite_condition(words)
    return _pg_condition(words)


def _sqlite_condition(words: list[str]) -> ColumnElement[bool]:
    """Each word's entries name the runs that hold it (their keys); a run must be in all."""
    names = [f"duet_search_{i}" for i in range(len(words))]
    sets = " INTERSECT ".join(
        f"SELECT rowid >> {SLOT_BITS} FROM run_search_fts WHERE run_search_fts MATCH :{n}"
        for n in names
    )
    if len(names) == 1:  # a common word's turns name each run many times
        sets = "SELECT DISTINCT" + sets.removeprefix("SELECT")
    # "+": walk runs newest first (their index) testing each against the set, rather than
    # fetch every matching run to sort them (a common word: 10,000 rows for a page of 50)
    sql = f"+runs.id IN (SELECT run_id FROM run_search WHERE key IN ({sets}))"
    values = {n: sqlite_match(w) for n, w in zip(names, words, strict=True)}
    return text(sql).bindparams(**values)


def _pg_condition(words: list[str]) -> ColumnElement[bool]:
    """One GIN lookup for all the words in one row; and for the few runs with more than one
    row (``part`` 1 and up), each word's set of those runs, intersected."""
    match = f"doc @@ to_tsquery('{PG_CONFIG}', :duet_search)"
    values = {"duet_search": " & ".join(pg_tsquery(w) for w in words)}
    sql = f"SELECT run_id FROM run_search WHERE {match}"
    if len(words) > 1:
        names = [f"duet_search_{i}" for i in range(len(words))]
        sets = " INTERSECT ".join(
            "SELECT s.run_id FROM run_search AS s JOIN run_search AS more"
            " ON more.run_id = s.run_id AND more.part = 1"
            f" WHERE s.doc @@ to_tsquery('{PG_CONFIG}', :{n})"
            for n in names
        )
        sql += f" UNION ({sets})"
        values |= {n: pg_tsquery(w) for n, w in zip(names, words, strict=True)}
    return text(f"runs.id IN ({sql})").bindparams(**values)


def prepare(conn: Connection, search: str | None) -> None:
    """Before a transaction's statements with a search: on PostgreSQL, plan them through the
    GIN index. The planner cannot see that testing a row reads its run's whole document (kept
    out of line), so for a word most runs hold it would read every document (~0.7 s for
    10,000 runs) rather than count the index's entries (~5 ms). (With no sequential scan, the
    only other way is a full scan of an ordered index on run_search: it has none, only a hash
    index on run_id, so a page of results still probes run by run, newest first.)"""
    if search and query_words(search) and conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")


def is_search_object(name: str | None) -> bool:
    """True for the search tables, the FTS5 shadow tables (``run_search_fts_data``, ...)
    and the search indexes (``ix_run_search_doc``, ...)."""
    if not name:
        return False
    name = name.removeprefix("ix_")
    return any(name == t or name.startswith(t + "_") for t in SEARCH_TABLES)
