"""The duplicate guard's map keeps a bounded number of entries in memory and the rest on disk:
lookups find spilled entries, newer values win, and a long file does not grow the Python heap."""

from __future__ import annotations

import tracemalloc

import pytest

from dataio.digests import DigestMap
from dataio.importers import DuplicateGuard, RowError


def test_spilled_entries_are_found_and_newer_values_win():
    digests = DigestMap(limit=3)
    for key in range(10):
        digests[key << 100] = key * 7  # keys and values wider than SQLite's 64-bit integers
    assert digests.db is not None and digests.spilled == 9 and len(digests.recent) == 1
    assert [digests.get(key << 100) for key in range(10)] == [key * 7 for key in range(10)]
    assert digests.get(0) == 0  # key 0, value 0: found, not taken for missing
    assert digests.get(12345, "missing") == "missing"
    digests[2 << 100] = 99  # a spilled key written again
    assert digests.get(2 << 100) == 99
    for key in range(100, 110):  # pushes the new value to disk too
        digests[key] = key
    assert digests.get(2 << 100) == 99 and digests.get(105) == 105
    digests.close()


def test_the_guard_finds_duplicates_and_conflicts_across_the_spill(settings):
    settings.DATAIO_GUARD_MEMORY_KEYS = 2
    guard = DuplicateGuard()
    for number in range(2, 12):
        guard.check(number, ("customer ID", f"C-{number}"), {"first_name": f"N{number}"}, "conflicting_row")
    assert guard.keys.spilled >= 8
    with pytest.raises(RowError) as duplicate:
        guard.check(20, ("customer ID", "C-2"), {"first_name": "N2"}, "conflicting_row")
    assert duplicate.value.code == "duplicate_row" and "repeats row 2" in duplicate.value.message
    with pytest.raises(RowError) as conflict:
        guard.check(21, ("customer ID", "C-3"), {"first_name": "other"}, "conflicting_row")
    assert conflict.value.code == "conflicting_row" and "as row 3" in conflict.value.message


def test_a_hundred_thousand_keys_do_not_grow_the_python_heap():
    tracemalloc.start()
    try:
        digests = DigestMap(limit=1000)
        for key in range(100_000):
            digests[DuplicateGuard.digest(key)] = DuplicateGuard.digest(-key) << 32 | key
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A dict of 100,000 such entries holds ~15 MB; the map holds at most 1,000 of them.
    assert held < 1_500_000, held
    assert digests.get(DuplicateGuard.digest(12_345)) == DuplicateGuard.digest(-12_345) << 32 | 12_345
    digests.close()
