"""The Jobs page's one write: `track(kind, key, ...)` creates or updates a job's row.

Any background work registers itself here so the Jobs page lists it::

    from dataio.jobs import track
    from dataio.choices import JobKind, JobStatus

    track(JobKind.SEGMENT_REBUILD, f"segment:{segment.pk}:{run}", label=f"Rebuild {segment}",
          status=JobStatus.PROCESSING, total=None, user=request.user)
    ...
    track(JobKind.SEGMENT_REBUILD, key, status=JobStatus.FINISHED, done=members)

- `kind`: a JobKind; `key`: unique within the kind (e.g. "import:12"); a second call with the
  same pair updates the row (only the arguments given change).
- `status` processing sets `started_at` (first time); a terminal status (finished, finished with
  errors, failed, cancelled) sets `finished_at`.
- `total`, `done`, `failed`: counts of rows or items (the page shows a bar when `total` is known).
- `url`: the job's own page; `cancellable`: whether the page offers Cancel (the job's owner
  checks `cancel_requested()` and stops).
Runs in its own statement (autocommit) or inside the caller's transaction, whichever is open.

A job that is one function call can use the context manager instead::

    with jobs.running(JobKind.POINT_EXPIRY, f"expiry:{now:%Y%m%d%H%M}", label="Point expiry") as job:
        counts = do_the_work()
        job.done = counts["events"]   # stored when the block ends (finished, or failed on an exception)
"""

from __future__ import annotations

import contextlib
import datetime as dt

from django.db import IntegrityError, transaction

from loyalty import clock

from .choices import TERMINAL, JobStatus
from .models import Job

_UNSET = object()


def track(
    kind: str,
    key: str,
    *,
    label=_UNSET,
    status=_UNSET,
    environment=_UNSET,
    total=_UNSET,
    done=_UNSET,
    failed=_UNSET,
    message=_UNSET,
    url=_UNSET,
    cancellable=_UNSET,
    user=None,
) -> Job:
    """Create or update the job (kind, key); returns the row as stored."""
    now = clock.now()
    fields = {
        name: value
        for name, value in {
            "label": label,
            "status": status,
            "environment": environment,
            "total": total,
            "done": done,
            "failed": failed,
            "message": message,
            "url": url,
            "cancellable": cancellable,
        }.items()
        if value is not _UNSET
    }
    if isinstance(fields.get("label"), str):
        fields["label"] = fields["label"][:300]
    key = key[:100]
    for attempt in (1, 2):
        job = Job.objects.filter(kind=kind, key=key).first()
        adding = job is None
        if adding:
            job = Job(
                kind=kind,
                key=key,
                created_at=now,
                started_by=user if getattr(user, "is_authenticated", False) else None,
            )
        for name, value in fields.items():
            setattr(job, name, value)
        if job.status == JobStatus.PROCESSING and job.started_at is None:
            job.started_at = now
        if job.status in TERMINAL:
            job.finished_at = job.finished_at or now
            job.started_at = job.started_at or now
            job.cancellable = False
        try:
            with transaction.atomic():  # a savepoint: a lost race must not break the caller's transaction
                job.save()
        except IntegrityError:
            # Two callers created (kind, key) at once (e.g. concurrent expiry runs): the second
            # updates the row the first stored.
            if not adding or attempt == 2:
                raise
            continue
        return job
    raise AssertionError("unreachable")


def request_cancel(job: Job) -> bool:
    """Ask a cancellable job to stop; False when it cannot be cancelled (any more)."""
    return bool(
        Job.objects.filter(pk=job.pk, cancellable=True)
        .exclude(status__in=list(TERMINAL))
        .update(cancel_requested=True)
    )


def cancel_requested(kind: str, key: str) -> bool:
    return Job.objects.filter(kind=kind, key=key, cancel_requested=True).exists()


@contextlib.contextmanager
def running(kind: str, key: str, *, label: str = "", user=None, environment: str = ""):
    """Track a block as a job: processing on entry; finished (with `job.done` / `job.failed` as
    the block left them) or failed (the exception's type, re-raised) on exit."""
    job = track(kind, key, label=label, status=JobStatus.PROCESSING, user=user, environment=environment)
    try:
        yield job
    except Exception as error:
        track(
            kind, key, status=JobStatus.FAILED, message=type(error).__name__, done=job.done, failed=job.failed
        )
        raise
    track(
        kind,
        key,
        status=JobStatus.FINISHED_WITH_ERRORS if job.failed else JobStatus.FINISHED,
        done=job.done,
        failed=job.failed,
    )


def prune(days: int = 30) -> int:
    """Forget finished jobs older than `days` (the import and export rows themselves stay)."""
    cutoff = clock.now() - dt.timedelta(days=days)
    deleted, _ = Job.objects.filter(status__in=list(TERMINAL), finished_at__lt=cutoff).delete()
    return deleted
