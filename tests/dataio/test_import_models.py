"""Event, coupon-code, list-member and static-segment-member imports."""

from __future__ import annotations

import pytest

from coupons.models import Coupon
from customers.models import Customer
from dataio.models import ImportRowError
from events.models import Event
from segments.models import CustomerList, CustomerListMember, Segment, SegmentKind, SegmentMember
from tests import factories
from tests.factories import enroll

from .conftest import run_import

pytestmark = pytest.mark.django_db


def errors(data_import) -> dict[int, ImportRowError]:
    return {e.row: e for e in ImportRowError.objects.filter(data_import=data_import)}


def test_events_need_customer_and_action_and_every_other_column_is_an_attribute(program):
    program.anonymous_registration = False  # else an unknown ID becomes an inactive customer
    program.save()
    enroll("C-1")
    data_import = run_import(
        "events",
        "customer,action,points,reason\n"
        "C-1,point_add,100,migration\n"
        "C-1,point_spend,30,\n"
        "C-1,point_spend,5000,\n"  # row 4: not enough points (refused by the engine at run)
        "C-1,checkout,10,\n"  # row 5: checkouts cannot be imported (002)
        "C-1,no_such_action,1,\n"  # row 6: unknown action
        "nobody,point_add,5,\n"  # row 7: unknown customer (anonymous registration off)
        "C-1,point_add,abc,\n",  # row 8: not a number
    )
    assert data_import.status == "finished_with_errors"
    found = errors(data_import)
    assert (data_import.created, data_import.failed) == (2, 5), {r: e.message for r, e in found.items()}
    assert set(found) == {4, 5, 6, 7, 8}
    assert found[5].code == "checkout_refused"
    assert found[6].code == "113402" and found[6].column == "action"
    assert found[8].column == "points" and found[8].value == "abc"
    customer = Customer.objects.get(customer_id="C-1")
    assert customer.spendable == 70
    add = Event.objects.get(customer=customer, action="point_add")
    assert (add.source, add.reason) == ("import", "migration")
    spend = Event.objects.get(customer=customer, action="point_spend")
    assert spend.reason == f"Import {data_import.pk}: file.csv"


def test_the_002_opt_in_example_imports_as_events(program):
    data_import = run_import(
        "events",
        "_id,action,email,first_name,last_name\n"
        "374397439743,opt_in,john@example.com,John,Bates\n"
        "345454656512,opt_in,bill@example.com,Bill,Overback\n",
    )
    assert (data_import.status, data_import.created) == ("finished", 2)
    assert Customer.objects.get(customer_id="345454656512").last_name == "Overback"


def test_coupon_codes_go_into_the_pool_and_taken_or_bad_codes_fail(program):
    pool = factories.CouponPoolFactory()
    Coupon.objects.create(pool=pool, code="TAKEN-1")
    data_import = run_import("coupons", "code\nNEW-1\nnew-2\ntaken-1\nx\nNEW-1\n", target=pool.pk)
    assert (data_import.created, data_import.failed) == (2, 3)
    assert {e.code for e in errors(data_import).values()} == {"code_exists", "invalid_code", "duplicate_row"}
    assert set(pool.coupons.values_list("code", flat=True)) == {"TAKEN-1", "NEW-1", "new-2"}


def test_list_members_are_added_through_the_engine(program):
    program.segments = True
    program.save()
    enroll("C-1")
    enroll("C-2")
    customer_list = CustomerList.objects.create(name="VIP")
    data_import = run_import("list_members", "customer_id\nC-1\nC-2\nnobody\n", target=customer_list.pk)
    assert (data_import.created, data_import.failed) == (2, 1)
    assert CustomerListMember.objects.filter(customer_list=customer_list).count() == 2
    assert Event.objects.filter(action="customer_list_add", source="import").count() == 2
    again = run_import("list_members", "customer_id\nC-1\n", target=customer_list.pk)
    assert (again.unchanged, again.failed) == (1, 0)


def test_static_segment_members(program):
    enroll("C-1")
    segment = Segment.objects.create(name="Migrated", kind=SegmentKind.STATIC)
    data_import = run_import("segment_members", "customer\nC-1\nC-9\n", target=segment.pk)
    assert (data_import.created, data_import.failed) == (1, 1)
    assert SegmentMember.objects.filter(segment=segment, left_at__isnull=True).count() == 1
    segment.refresh_from_db()
    assert segment.member_count == 1
