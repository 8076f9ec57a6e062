"""events.bulk._Writes: a refused item forgets exactly what it added to the run's writes (its
rows, and the existing balance rows it was first to change), whatever the run held before."""

from __future__ import annotations

from events.bulk import _Writes


def test_truncate_forgets_only_what_was_added_since_the_marks():
    writes = _Writes()
    kept = [object() for _ in range(3)]
    writes.events.append(("event", "customer"))
    for row in kept:
        writes.balances[id(row)] = row
    marks = writes.marks()
    added = object()
    writes.events.append(("refused event", "customer"))
    writes.lots.append(("lot", "customer", "event"))
    writes.entries.append(("entry", "customer", "event", "lot"))
    writes.balances[id(kept[1])] = kept[1]  # changed again by the refused item: stays (changed before)
    writes.balances[id(added)] = added  # first changed by the refused item: forgotten
    writes.truncate(marks)
    assert writes.events == [("event", "customer")]
    assert (writes.lots, writes.entries) == ([], [])
    assert list(writes.balances.values()) == kept


def test_truncate_with_nothing_added_changes_nothing():
    writes = _Writes()
    row = object()
    writes.balances[id(row)] = row
    writes.truncate(writes.marks())
    assert list(writes.balances.values()) == [row]
