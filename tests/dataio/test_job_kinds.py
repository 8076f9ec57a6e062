"""Bulk list operations, segment rebuilds and workflow date runs appear on the Jobs page (kind,
status, progress, who started it, started / finished, duration), through dataio.jobs.track."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import TestCase

from dataio.choices import JobKind
from dataio.models import Job
from loyalty import clock
from segments import tasks as segment_tasks
from segments.building import request_rebuild
from segments.bulk import queue_bulk
from segments.models import CustomerList, Segment
from tests import factories
from tests.segments.test_conditions import leaf, tree
from tests.workflows.conftest import chain, make_workflow
from workflows import tasks as workflow_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def segments_on(program):
    program.segments = True
    program.save()
    return program


def the_job(kind) -> Job:
    found = list(Job.objects.filter(kind=kind))
    assert len(found) == 1, found
    return found[0]


def test_a_bulk_list_operation_is_a_job_with_its_counts_and_user(segments_on, admin_user):
    for cid in ("a", "b", "c"):
        factories.enroll(cid)
    vip = CustomerList.objects.create(name="VIP")
    with TestCase.captureOnCommitCallbacks(execute=False):
        operation = queue_bulk(
            vip, "customer_add", ["a", "ghost", "b", "c"], environment="live", source="api", user=admin_user
        )
    queued = the_job(JobKind.BULK_LIST)
    assert (queued.status, queued.total, queued.started_at) == ("pending", 4, None)
    segment_tasks.run_bulk(operation.pk)
    job = the_job(JobKind.BULK_LIST)
    assert (job.status, job.done, job.failed, job.total) == ("finished_with_errors", 3, 1, 4)
    assert job.started_by == admin_user and job.started_at and job.finished_at
    assert job.duration is not None and "VIP" in job.label
    assert job.url == f"/segments/lists/bulk/{operation.batch_id}/"


def test_a_clean_bulk_operation_finishes(segments_on):
    factories.enroll("a")
    vip = CustomerList.objects.create(name="VIP")
    with TestCase.captureOnCommitCallbacks(execute=True):
        queue_bulk(vip, "customer_add", ["a"], environment="live", source="api")
    job = the_job(JobKind.BULK_LIST)
    assert (job.status, job.done, job.failed, job.started_by) == ("finished", 1, 0, None)


def test_a_requested_segment_rebuild_is_a_job_done_with_its_member_count(segments_on, admin_user):
    factories.enroll("a", points=100)
    factories.enroll("b", points=10)
    segment = Segment.objects.create(name="Rich", conditions=tree(leaf("score", "ge", "50")))
    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        request_rebuild(segment, admin_user)
    assert the_job(JobKind.SEGMENT_REBUILD).status == "pending"
    queued[0]()
    job = the_job(JobKind.SEGMENT_REBUILD)
    assert (job.status, job.done, job.started_by) == ("finished", 1, admin_user)
    assert job.url == f"/segments/{segment.pk}/" and "Rich" in job.label


def test_a_segment_whose_conditions_broke_is_a_job_finished_with_errors(segments_on):
    segment = Segment.objects.create(name="Broken", conditions=tree(leaf("gone_field", "eq", "1")))
    segment_tasks.rebuild_segment(segment.pk)
    job = the_job(JobKind.SEGMENT_REBUILD)
    assert job.status == "finished_with_errors" and "gone_field" in job.message


def test_the_hourly_rebuild_is_one_job_counting_segments(segments_on):
    for n in range(3):
        Segment.objects.create(name=f"S{n}", conditions=tree(leaf("score", "ge", str(n))))
    assert segment_tasks.rebuild_segments() == 3
    job = the_job(JobKind.SEGMENT_REBUILD)
    assert (job.status, job.done) == ("finished", 3)


def test_a_workflow_date_run_is_a_job_counting_the_customers_visited(program):
    program.workflows = True
    program.save()
    for cid in ("d-1", "d-2"):
        factories.enroll(cid)
    workflow = make_workflow(
        chain(
            {"type": "date_trigger", "config": {"repeat": "daily", "time": "00:00"}},
            {"id": "bonus", "type": "point_add", "config": {"points": 3}},
            branch="on",
        )
    )
    type(workflow).objects.filter(pk=workflow.pk).update(activated_at=clock.now() - dt.timedelta(days=1))
    workflow_tasks.tick()
    workflow_tasks.tick()  # the same occurrence: no second job
    job = the_job(JobKind.WORKFLOW_DATE)
    assert (job.status, job.done) == ("finished", 2)
    assert job.started_at and job.finished_at and job.url == f"/workflows/{workflow.pk}/"
    assert factories.live("d-1").spendable == 3


def test_the_jobs_page_lists_every_kind(admin_client, segments_on):
    factories.enroll("a")
    vip = CustomerList.objects.create(name="VIP")
    with TestCase.captureOnCommitCallbacks(execute=True):
        queue_bulk(vip, "customer_add", ["a"], environment="live", source="api")
    Segment.objects.create(name="S", conditions=tree(leaf("score", "ge", "1")))
    segment_tasks.rebuild_segments()
    page = admin_client.get("/jobs/").content.decode()
    assert "Bulk add to list VIP" in page and "Hourly rebuild of every dynamic segment" in page
