"""Customer lists: membership events, status rules, bulk jobs with per-customer errors."""

import pytest

from events.engine import register_event
from events.models import Event
from loyalty.errors import BusinessRuleError, Conflict, NotFound
from segments.bulk import queue_bulk
from segments.lists import set_status
from segments.models import BulkOperation, CustomerList, CustomerListMember, Status


@pytest.fixture
def segments_on(program):
    program.segments = True
    program.save()
    return program


@pytest.fixture
def vip(segments_on):
    return CustomerList.objects.create(name="VIP")


def on_list(customer_list) -> set[str]:
    return set(
        CustomerListMember.objects.filter(customer_list=customer_list).values_list(
            "customer__customer_id", flat=True
        )
    )


def test_add_and_remove_are_events(vip, enroll_customer, admin_user):
    enroll_customer("a")
    result = register_event(
        environment="live",
        customer="a",
        action="customer_list_add",
        data={"list": vip.pk},
        source="platform",
        admin_user=admin_user,
        reason="met at the fair",
    )
    assert on_list(vip) == {"a"}
    event = Event.objects.get(pk=result.event.pk)
    assert (event.action, event.source, event.admin_user, event.reason) == (
        "customer_list_add",
        "platform",
        admin_user,
        "met at the fair",
    )
    with pytest.raises(Conflict):
        register_event(environment="live", customer="a", action="customer_list_add", data={"list": vip.pk})
    register_event(environment="live", customer="a", action="customer_list_remove", data={"list": vip.pk})
    assert on_list(vip) == set()
    with pytest.raises(NotFound):
        register_event(environment="live", customer="a", action="customer_list_remove", data={"list": vip.pk})
    assert Event.objects.filter(action__startswith="customer_list_").count() == 2  # refusals store nothing


def test_bad_list_references(vip, enroll_customer):
    enroll_customer("a")
    for data, error in (
        ({}, "Missing"),
        ({"list": "x"}, "must be a whole number"),
        ({"list": 99999}, "does not exist"),
    ):
        with pytest.raises(Exception, match=error) as caught:
            register_event(environment="live", customer="a", action="customer_list_add", data=data)
        assert caught.value.field == "data.list"


def test_module_switch_gates_the_events(program, enroll_customer):
    enroll_customer("a")
    listed = CustomerList.objects.create(name="L")
    with pytest.raises(BusinessRuleError, match="Segments module is off"):
        register_event(environment="live", customer="a", action="customer_list_add", data={"list": listed.pk})


def test_status_rules_archive_only_inactive_and_irreversible(vip, enroll_customer):
    enroll_customer("a")
    register_event(environment="live", customer="a", action="customer_list_add", data={"list": vip.pk})
    with pytest.raises(BusinessRuleError, match="Only an inactive list"):
        set_status(vip, Status.ARCHIVED)
    set_status(vip, Status.INACTIVE)
    with pytest.raises(BusinessRuleError, match="only active lists"):
        register_event(environment="live", customer="a", action="customer_list_add", data={"list": vip.pk})
    archived = set_status(vip, Status.ARCHIVED)
    assert archived.archived_at and on_list(vip) == set()
    with pytest.raises(BusinessRuleError, match="archived"):
        set_status(vip, Status.ACTIVE)


def test_bulk_add_reports_per_customer_errors(
    vip, enroll_customer, admin_user, django_capture_on_commit_callbacks
):
    for cid in ("a", "b", "c"):
        enroll_customer(cid)
    register_event(environment="live", customer="b", action="customer_list_add", data={"list": vip.pk})
    with django_capture_on_commit_callbacks(execute=True):
        operation = queue_bulk(
            vip, "customer_add", ["a", "b", "ghost", "c"], environment="live", source="api", user=admin_user
        )
        operation.refresh_from_db()
        assert operation.status == "queued"
    # Tests run django-q2 synchronously: the job ran on commit.
    operation.refresh_from_db()
    assert operation.status == "done" and operation.number_of_customers == 4
    assert operation.number_of_errors == 2
    errors = {(e.customer, e.code) for e in operation.errors.all()}
    assert errors == {("b", 160409), ("ghost", 160212)}
    assert on_list(vip) == {"a", "b", "c"}
    with django_capture_on_commit_callbacks(execute=True):
        removal = queue_bulk(vip, "customer_remove", ["a", "c"], environment="live", source="api")
    removal.refresh_from_db()
    assert removal.status == "done" and removal.number_of_errors == 0 and on_list(vip) == {"b"}


@pytest.mark.parametrize(
    ("customers", "field"),
    [([], "customers"), ("a", "customers"), (["a", ""], "customers[1]"), (["a", {"x": 1}], "customers[1]")],
)
def test_bulk_bad_requests_store_nothing(vip, customers, field):
    with pytest.raises(Exception) as caught:
        queue_bulk(vip, "customer_add", customers, environment="live", source="api")
    assert caught.value.field == field
    assert not BulkOperation.objects.exists()


def test_opt_out_ends_memberships_and_scrubs_bulk_requests(
    vip, enroll_customer, django_capture_on_commit_callbacks
):
    from segments.models import BulkOperationError, SegmentMember

    enroll_customer("anna-x")
    with django_capture_on_commit_callbacks(execute=True):
        queue_bulk(vip, "customer_add", ["anna-x", "ghost-x"], environment="live", source="api")
    assert on_list(vip) == {"anna-x"}
    register_event(environment="live", customer="anna-x", action="opt_out")
    assert on_list(vip) == set()
    operation = BulkOperation.objects.get()
    assert operation.customers == ["[anonymized]", "ghost-x"]
    assert BulkOperationError.objects.get().customer == "ghost-x"
    assert not SegmentMember.objects.filter(left_at__isnull=True).exists()


def test_merge_moves_list_memberships_to_the_target(vip, enroll_customer):
    enroll_customer("src")
    enroll_customer("dst")
    other = CustomerList.objects.create(name="Other")
    for cid, listed in (("src", vip), ("src", other), ("dst", vip)):
        register_event(environment="live", customer=cid, action="customer_list_add", data={"list": listed.pk})
    register_event(environment="live", customer="dst", action="merge", data={"source": "src"})
    assert on_list(vip) == {"dst"} and on_list(other) == {"dst"}
    assert CustomerListMember.objects.count() == 2


def test_bulk_in_several_chunks_reports_each_error_at_its_position(
    vip, enroll_customer, monkeypatch, django_capture_on_commit_callbacks
):
    from segments import tasks

    monkeypatch.setattr(tasks, "CHUNK", 2)  # chunks: [a, ghost] [b, a] [c]
    for cid in ("a", "b", "c"):
        enroll_customer(cid)
    with django_capture_on_commit_callbacks(execute=True):
        operation = queue_bulk(
            vip, "customer_add", ["a", "ghost", "b", "a", "c"], environment="live", source="api"
        )
    operation.refresh_from_db()
    assert operation.status == "done" and operation.processed == 5 and operation.number_of_errors == 2
    assert [(e.position, e.customer, e.code) for e in operation.errors.all()] == [
        (1, "ghost", 160212),
        (3, "a", 160409),
    ]
    assert on_list(vip) == {"a", "b", "c"}
    assert Event.objects.filter(action="customer_list_add").count() == 3
