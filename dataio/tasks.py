"""django-q2 tasks of imports and exports (queued by dataio.running / dataio.exports)."""

from __future__ import annotations

from . import exports, jobs, running


def validate_import(pk: int) -> None:
    running.validate(pk)


def run_import(pk: int) -> str:
    """Queue the import's partitions (running.run)."""
    return running.run(pk)


def run_import_partition(pk: int, index: int) -> str:
    """Apply one partition of an import from its checkpoint (running.run_partition)."""
    return running.run_partition(pk, index)


def run_export(pk: int) -> None:
    exports.run(pk)


def run_repeated_exports() -> int:
    """Hourly: start the runs of repeated exports that are due."""
    return exports.run_due()


def expire_exports() -> int:
    """Hourly: delete export files past their expiry, and forget jobs finished 30+ days ago."""
    jobs.prune()
    return exports.expire()
