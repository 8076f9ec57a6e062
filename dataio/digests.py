"""A map of integer digests at constant memory, for an import's duplicate guard.

The guard (`importers.DuplicateGuard`) remembers one entry per key of the whole file: held in a
Python dict that costs ~150 bytes a row, ~150 MB for a 1,000,000-row file, growing with the rows
read. `DigestMap` keeps at most DATAIO_GUARD_MEMORY_KEYS entries (default 50,000) in a dict;
when it is full they move into a private temporary SQLite database on disk (`sqlite3.connect("")`:
deleted when closed) whose page cache is bounded (DATAIO_GUARD_CACHE_KB, default 8,192 KiB), and
the dict starts again. A lookup asks the dict, then the database. So memory stays flat whatever
the file's size; a file of fewer rows than the limit never touches the disk. Keys and values are
non-negative ints of any size (stored as big-endian bytes).
"""

from __future__ import annotations

import sqlite3

from django.conf import settings


def memory_keys() -> int:
    return int(getattr(settings, "DATAIO_GUARD_MEMORY_KEYS", 50_000))


def cache_kib() -> int:
    return int(getattr(settings, "DATAIO_GUARD_CACHE_KB", 8192))


def _blob(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


class DigestMap:
    """`get(key)` / `map[key] = value` for non-negative int keys and values, at bounded memory."""

    def __init__(self, limit: int | None = None):
        self.limit = limit if limit is not None else memory_keys()
        self.recent: dict[int, int] = {}
        self.db: sqlite3.Connection | None = None
        self.spilled = 0  # entries moved to the database so far

    def get(self, key: int, default=None):
        value = self.recent.get(key)
        if value is not None or self.db is None:
            return default if value is None else value
        row = self.db.execute("SELECT v FROM digests WHERE k = ?", (_blob(key),)).fetchone()
        return default if row is None else int.from_bytes(row[0], "big")

    def __setitem__(self, key: int, value: int) -> None:
        self.recent[key] = value
        if len(self.recent) >= self.limit:
            self._spill()

    def _spill(self) -> None:
        if self.db is None:
            self.db = sqlite3.connect("")
            self.db.execute(f"PRAGMA cache_size = -{cache_kib()}")
            self.db.execute("PRAGMA journal_mode = OFF")
            self.db.execute("PRAGMA synchronous = OFF")
            self.db.execute("CREATE TABLE digests (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        self.db.executemany(
            "INSERT OR REPLACE INTO digests (k, v) VALUES (?, ?)",
            [(_blob(k), _blob(v)) for k, v in self.recent.items()],
        )
        self.spilled += len(self.recent)
        self.recent = {}

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        self.recent = {}

    def __del__(self):
        self.close()
