"""The lexical stage: BM25 on SQLite FTS5 (standard library), one row per tool, one column per field.

The database is built in memory and serialized into the index bytes; a search deserializes it once. The
query reaching FTS5 is made here from plain words, each quoted, joined with OR: it can never be FTS5
syntax, a syntax error, or a slow query.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from toolgate.errors import SearchUnavailableError
from toolgate.search.text import ToolText

#: The FTS5 columns, in order, with their BM25 weights (tuned on the query set's TUNE split only).
COLUMN_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("name", 4.0),
    ("title", 4.0),
    ("description", 1.0),
    ("tags", 1.0),
    ("parameters", 1.0),
    ("path", 1.0),
    ("verbs", 1.0),
)
_COLUMNS = ", ".join(name for name, _ in COLUMN_WEIGHTS)
_WEIGHTS = ", ".join(repr(weight) for _, weight in COLUMN_WEIGHTS)
#: Porter stemming over unicode61 (diacritics folded): "repositories" meets "repository".
_TOKENIZER = "porter unicode61 remove_diacritics 2"


def build_database(texts: Sequence[ToolText]) -> bytes:
    """The FTS5 database of these tools, serialized; row i + 1 is tool i."""
    connection = sqlite3.connect(":memory:")
    try:
        _require_fts5(connection)
        connection.execute(f"CREATE VIRTUAL TABLE tools USING fts5({_COLUMNS}, tokenize='{_TOKENIZER}')")
        connection.executemany(
            f"INSERT INTO tools(rowid, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - constants
            [
                (row, t.name, t.title, t.description, t.tags, t.parameters, t.path, t.verbs)
                for row, t in enumerate(texts, start=1)
            ],
        )
        connection.execute("INSERT INTO tools(tools) VALUES ('optimize')")
        connection.commit()
        connection.execute("VACUUM")
        return connection.serialize()
    finally:
        connection.close()


class LexicalIndex:
    """A deserialized FTS5 database, queried under a lock (one connection, any thread)."""

    def __init__(self, database: bytes) -> None:
        self._connection = sqlite3.connect(":memory:", check_same_thread=False)
        _require_fts5(self._connection)
        self._connection.deserialize(database)
        self._lock = threading.Lock()

    def check(self, rows: int) -> None:
        """Raises sqlite3.DatabaseError unless the database holds the FTS5 table with `rows` rows."""
        with self._lock:
            (count,) = self._connection.execute("SELECT count(*) FROM tools").fetchone()
            self._connection.execute("INSERT INTO tools(tools) VALUES ('integrity-check')")
        if count != rows:
            raise sqlite3.DatabaseError(f"{count} rows where {rows} tools were indexed")

    def rank(self, words: Sequence[str], depth: int) -> list[int]:
        """Tool positions (0-based), best BM25 first, at most `depth`; none when no word matches."""
        if not words:
            return []
        expression = " OR ".join(_quoted(word) for word in words)
        with self._lock:
            rows = self._connection.execute(
                # Only constants are formatted in; the query words are a bound parameter.
                f"SELECT rowid FROM tools WHERE tools MATCH ? ORDER BY bm25(tools, {_WEIGHTS}), rowid "  # noqa: S608
                "LIMIT ?",
                (expression, depth),
            ).fetchall()
        return [rowid - 1 for (rowid,) in rows]


def _require_fts5(connection: sqlite3.Connection) -> None:
    (enabled,) = connection.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()
    if not enabled or not hasattr(connection, "serialize"):
        raise SearchUnavailableError(
            f"Tool search needs SQLite with FTS5 and serialize(); this Python's SQLite "
            f"{sqlite3.sqlite_version} lacks one of them."
        )


def _quoted(word: str) -> str:
    """An FTS5 string: whatever it holds is matched as text, never read as an operator."""
    return '"' + word.replace('"', '""') + '"'
