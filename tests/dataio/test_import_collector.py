"""dataio.importers.collector_paused: a chunk is applied with Python's cyclic garbage collector
paused (it walked the whole process again and again while a chunk's objects were alive), and the
collector is left as it was found: on after the chunk, on after a failing chunk, off when a
caller had turned it off."""

from __future__ import annotations

import gc

import pytest

from dataio.importers import IMPORTERS, Importer, collector_paused

from .conftest import run_import

pytestmark = pytest.mark.django_db


class _Probe(Importer):
    """An importer whose apply records whether the collector ran, or raises."""

    def __init__(self, fail: bool = False):
        self.fail, self.seen = fail, []

    @collector_paused
    def apply(self, rows, admin_user, reason):
        self.seen.append(gc.isenabled())
        if self.fail:
            raise RuntimeError("a fault mid-chunk")


@pytest.fixture
def collector():
    """The test starts with the collector on and leaves it on, whatever it did."""
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_paused_during_a_chunk_and_on_again_after_it(collector):
    probe = _Probe()
    probe.apply([], None, "")
    assert probe.seen == [False]
    assert gc.isenabled()


def test_a_chunk_that_raises_leaves_the_collector_on(collector):
    probe = _Probe(fail=True)
    with pytest.raises(RuntimeError):
        probe.apply([], None, "")
    assert probe.seen == [False]
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off(collector):
    gc.disable()
    probe = _Probe()
    probe.apply([], None, "")
    assert probe.seen == [False]
    assert not gc.isenabled()


def test_every_import_model_applies_its_chunks_with_the_collector_paused():
    unwrapped = [model for model, cls in IMPORTERS.items() if not hasattr(cls.apply, "__wrapped__")]
    assert unwrapped == []


def test_an_import_run_applies_its_rows_and_leaves_the_collector_on(program, collector):
    data_import = run_import("customers", "customer_id,first_name\nC-1,Ann\nC-2,Bo\nbad id!,X\n")
    assert (data_import.status, data_import.created, data_import.failed) == ("finished_with_errors", 2, 1)
    assert gc.isenabled()
