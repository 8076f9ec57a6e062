"""Every filter a console list page offers is tested: given a value it filters without error, and
the rows it keeps are exactly what a plain ORM filter keeps (in the spirit of NetBox's
utilities/testing/filtersets.py `BaseFilterSetTests.test_missing_filters`).

`CASES` maps each console FilterSet to {filter name: (value, Q)}: the value as the page's query
string sends it (a callable gets the `rows` dict, for primary keys) and the Q object the result must
equal. A case must discriminate: a filter that ignored its value would return every row and fail.
The FilterSets are found by walking the console's pages (`filterset_class` of list pages and of
child-table tabs), so a new list page or a new filter without a case fails
`test_every_filter_of_every_console_filterset_has_a_case`.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from coupons.pools import import_codes
from dataio.models import DataExport, DataImport, Job
from loyalty.api.keys import revoke
from loyalty.audit.log import record
from loyalty.ledger.accounts import default_account
from loyalty.models import Program
from segments.building import rebuild
from segments.models import BulkOperation, CustomerList, Segment
from tests import factories
from tests.factories import enroll, register

from .console_access import console_urls
from .workflow_world import workflow_rows


def pk(name):
    return lambda rows: rows[name].pk


CASES: dict[str, dict[str, tuple]] = {  # by FilterSet class name, wherever it lives
    "CustomerFilterSet": {
        "q": ("Bob Brown", Q(first_name="Bob", last_name="Brown")),
        "status": (["suspended"], Q(status="suspended")),
        "gender": ("female", Q(gender="female")),
        "country": ("GB", Q(country="GB")),
        "tier": (pk("silver"), Q(tier__code="silver")),
        "f": (["country:eq:DE", "score:ge:1000"], Q(country="DE", score__gte=1000)),
        "segment": (pk("segment"), Q(customer_id="Anna-1")),
        "list": (pk("customer_list"), Q(customer_id="Bob-2")),
    },
    "SegmentFilterSet": {
        "q": ("rich", Q(name__icontains="rich")),
        "status": ("inactive", Q(status="inactive")),
        "kind": ("static", Q(kind="static")),
    },
    "ListFilterSet": {
        "q": ("news", Q(name__icontains="news")),
        "status": ("inactive", Q(status="inactive")),
    },
    "BulkFilterSet": {
        "status": ("done", Q(status="done")),
        "type": ("customer_remove", Q(type="customer_remove")),
        "customer_list": (pk("customer_list"), Q(customer_list__name="Newsletter")),
    },
    "JobFilterSet": {
        "kind": ("export", Q(kind="export")),
        "status": ("failed", Q(status="failed")),
    },
    "ImportFilterSet": {
        "model": ("events", Q(model="events")),
        "status": ("finished", Q(status="finished")),
    },
    "ExportFilterSet": {
        "model": ("ledger", Q(model="ledger")),
        "status": ("finished", Q(status="finished")),
        "format": ("xlsx", Q(format="xlsx")),
    },
    "LabelFilterSet": {
        "q": ("vi", Q(name__icontains="vi")),
        "active": ("false", Q(active=False)),
    },
    "LabelCustomerFilterSet": {"customer_id": ("Anna-1", Q(customer_id="Anna-1"))},
    "TransactionFilterSet": {
        "transaction_id": ("T-2", Q(transaction_id="T-2")),
        "customer": ("Anna-1", Q(customer__customer_id="Anna-1")),
        "status": ("pending", Q(status="pending")),
        "account": (pk("bonus"), Q(account__code="bonus")),
    },
    "CustomerTransactionFilterSet": {
        "transaction_id": ("T-1", Q(transaction_id="T-1")),
        "status": ("accepted", Q(status="accepted")),
        "account": (pk("bonus"), Q(account__code="bonus")),
    },
    "EarningRuleFilterSet": {"active": ("false", Q(active=False))},
    "ChangeLogFilterSet": {
        "user": (pk("agent"), Q(user__username="agent")),
        "customer": ("Bob-2", Q(customer__customer_id="Bob-2")),
        "since": ("2026-02-01", Q(created_at__date__gte=dt.date(2026, 2, 1))),
        "until": ("2026-01-31", Q(created_at__date__lte=dt.date(2026, 1, 31))),
        "action": ("label_rename", Q(action="label_rename")),
    },
    "ChangeRequestFilterSet": {"status": ("rejected", Q(status="rejected"))},
    "PointAccountFilterSet": {
        "q": ("BON", Q(code__icontains="bon") | Q(name__icontains="bon")),
        "expiration_rule": ("fixed_period", Q(expiration_rule="fixed_period")),
        "is_default": ("true", Q(is_default=True)),
    },
    "TierStructureFilterSet": {"q": ("clu", Q(code__icontains="clu") | Q(name__icontains="clu"))},
    "CustomFieldFilterSet": {
        "q": ("shoe", Q(name__icontains="shoe") | Q(label__icontains="shoe")),
        "type": ("number", Q(type="number")),
        "external_id": ("true", Q(external_id=True)),
        "searchable": ("false", Q(searchable=False)),
    },
    "EventDefinitionFilterSet": {
        "q": ("REVIEW", Q(action__icontains="review") | Q(label__icontains="review")),
        "builtin_extension": ("true", Q(builtin_extension=True)),
        "active": ("false", Q(active=False)),
    },
    "ApiKeyFilterSet": {
        "q": ("POS", Q(name__icontains="pos") | Q(key__icontains="pos")),
        "environment": ("sandbox", Q(environment="sandbox")),
        "status": ("revoked", Q(revoked_at__isnull=False)),
    },
    "CouponPoolFilterSet": {
        "name": ("ten", Q(name__icontains="ten")),
        "type": ("percentage", Q(type="percentage")),
        "active": ("false", Q(active=False)),
    },
    "CouponFilterSet": {
        "code": ("aaa-1", Q(code__iexact="aaa-1")),
        "status": ("unassigned", Q(status="unassigned")),
    },
    "RewardFilterSet": {
        "name": ("MUG", Q(name__icontains="mug")),
        "active": ("false", Q(active=False)),
        "gives": ("coupon", Q(gives="coupon")),
    },
    # issue 20
    "CardFilterSet": {
        "code": ("CARD-1", Q(code="CARD-1")),
        "status": ("blocked", Q(status="blocked")),
        "batch_id": ("b1", Q(batch_id="b1")),
    },
    # webhooks
    "TrustedSiteFilterSet": {
        "q": ("crm", Q(name__icontains="crm") | Q(url__icontains="crm")),
        "auth_method": ("bearer", Q(auth_method="bearer")),
        "active": ("false", Q(active=False)),
    },
    "SubscriptionFilterSet": {
        "q": ("points", Q(name__icontains="points") | Q(path__icontains="points")),
        "site": (pk("crm"), Q(site__name="CRM")),
        "environment": ("sandbox", Q(environment="sandbox")),
        "active": ("false", Q(active=False)),
    },
    "DeliveryFilterSet": {
        "status": ("failed", Q(status="failed")),
        "site": (pk("crm"), Q(site__name="CRM")),
        "source": ("resync", Q(source="resync")),
        "action": ("point_add", Q(action="point_add")),
        "customer": ("Anna-1", Q(customer__customer_id="Anna-1")),
        "msg_id": ("msg_a", Q(msg_id="msg_a")),
    },
    "IncomingEndpointFilterSet": {
        "q": ("shop", Q(name__icontains="shop") | Q(action__icontains="shop")),
        "environment": ("sandbox", Q(environment="sandbox")),
        "active": ("false", Q(active=False)),
    },
    "IncomingRequestFilterSet": {
        "endpoint": (pk("hook"), Q(endpoint__name="shop")),
        "status": ("refused", Q(status="refused")),
    },
    "BudgetFilterSet": {
        "campaign": ("spring", Q(campaign__icontains="spring")),
        "action": ("reward_claims", Q(action="reward_claims")),
        "period": ("daily", Q(period="daily")),
        "active": ("false", Q(active=False)),
    },
    # Workflows (rows from tests/structure/workflow_world.workflow_rows)
    "WorkflowFilterSet": {
        "q": ("birth", Q(name__icontains="birth")),
        "status": ("active", Q(status="active")),
        "trigger_type": ("date", Q(trigger_type="date")),
        "kind": ("campaign", Q(campaign__isnull=False)),
    },
    "CampaignFilterSet": {"q": ("week", Q(name__icontains="week"))},
    "RunFilterSet": {"status": ("no_action", Q(status="no_action"))},
    "PendingTriggerFilterSet": {"state": ("retrying", Q(failed_at__isnull=True, attempts__gt=0))},
    "AchievementFilterSet": {
        "title": ("login", Q(title__icontains="login")),
        "counts": ("purchase_total", Q(counts="purchase_total")),
        "active": ("false", Q(active=False)),
    },
}


def console_filtersets() -> dict[str, type]:
    """{class name: FilterSet} of every console page that has one."""
    found = {}
    for console_url in console_urls():
        filterset_class = getattr(console_url.view_class, "filterset_class", None)
        if filterset_class:
            assert found.get(filterset_class.__name__, filterset_class) is filterset_class, (
                f"two FilterSets named {filterset_class.__name__}"
            )
            found[filterset_class.__name__] = filterset_class
    return found


@pytest.fixture
def rows(program):
    """At least two rows of every filtered model, differing in every filtered field."""
    structure = factories.TierStructureFactory()
    factories.TierStructureFactory(code="club", name="Club", position=1)
    factories.TierFactory(structure=structure, code="bronze", threshold=0)
    silver = factories.TierFactory(structure=structure, code="silver", threshold=1000)
    bonus = factories.PointAccountFactory(code="bonus", name="Bonus", expiration_rule="fixed_period")
    enroll("Anna-1", points=1500, first_name="Anna", last_name="Smith", country="DE", gender="female")
    enroll("Bob-2", points=10, first_name="Bob", last_name="Brown", country="GB", gender="male")
    enroll("Cleo-3", points=1200, first_name="Cleo", last_name="Brown", country="GB", gender="female")
    register("suspend", "Bob-2")
    anna = factories.live("Anna-1")

    vip = factories.LabelFactory(name="VIP")
    factories.LabelFactory(name="Old", active=False)
    for customer in factories.live("Anna-1"), factories.live("Bob-2"):
        customer.labels.add(vip)

    register("checkout", "Anna-1", {"transaction_id": "T-1", "total": 100})
    row = Program.objects.get(pk=program.pk)
    row.checkout_accept = True
    row.save()
    register("checkout", "Bob-2", {"transaction_id": "T-2", "total": 50})
    factories.EarningRuleFactory()
    factories.EarningRuleFactory(account=bonus, active=False)

    admin = factories.UserFactory(username="admin", role="administrator")
    agent = factories.UserFactory(username="agent", role="support agent")
    with time_machine.travel(dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC), tick=False):
        record(user=admin, action="label_rename", environment="live", object_repr="label: VIP")
    with time_machine.travel(dt.datetime(2026, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        record(user=agent, action="point_add", environment="live", customer=factories.live("Bob-2"))
    factories.ChangeRequestFactory(customer=anna)
    factories.ChangeRequestFactory(customer=anna, status="rejected")

    factories.CustomFieldFactory(name="shoe_size", label="Shoe size", type="number")
    factories.CustomFieldFactory(name="member_no", label="Member number", external_id=True, searchable=True)
    # issue 20: cards, budgets, achievements
    from achievements.models import Achievement
    from budgets.models import Budget
    from cards.models import LoyaltyCard

    now = timezone.now()
    LoyaltyCard.objects.create(code="CARD-1", batch_id="b1", created_at=now, updated_at=now)
    LoyaltyCard.objects.create(code="CARD-2", status="blocked", created_at=now, updated_at=now)
    Budget.objects.create(campaign="Spring", action="points_awarded", limit=5, period="monthly")
    Budget.objects.create(campaign="Autumn", action="reward_claims", limit=5, period="daily", active=False)
    Achievement.objects.create(api_name="logins", title="Three logins", action="login", target=3)
    Achievement.objects.create(
        api_name="spend", title="Spend", counts="purchase_total", target=9, active=False
    )
    # webhooks
    from webhooks.models import Delivery, IncomingEndpoint, IncomingRequest, Subscription, TrustedSite

    crm = TrustedSite.objects.create(name="CRM", url="https://crm.example/hooks")
    mail = TrustedSite.objects.create(
        name="Mailer", url="https://mail.example/", auth_method="bearer", active=False
    )
    Subscription.objects.create(name="Points", site=crm, actions=["point_add"])
    Subscription.objects.create(name="All", site=mail, actions=["*"], environment="sandbox", active=False)
    Delivery.objects.create(
        site=crm, source="subscription", action="point_add", customer=anna, msg_id="msg_a", created_at=now
    )
    Delivery.objects.create(site=mail, source="resync", status="failed", msg_id="msg_b", created_at=now)
    hook = IncomingEndpoint.objects.create(name="shop", action="point_add", customer_expression="body.id")
    other_hook = IncomingEndpoint.objects.create(
        name="crm-in", action="profile", customer_expression="body.id", environment="sandbox", active=False
    )
    IncomingRequest.objects.create(
        endpoint=hook, received_at=now, method="POST", status="accepted", http_status=200
    )
    IncomingRequest.objects.create(
        endpoint=other_hook, received_at=now, method="POST", status="refused", http_status=401
    )
    factories.EventDefinitionFactory(action="review", label="Product review")
    factories.EventDefinitionFactory(action="old_action", active=False)
    factories.EventDefinitionFactory(action="opt_in", label="Opt-in", builtin_extension=True)

    ten = factories.CouponPoolFactory(name="Ten off")
    factories.CouponPoolFactory(name="Half price", type="percentage", value=50, active=False)
    import_codes(ten, "AAA-1\nBBB-2\n")
    register("coupon_assign", "Anna-1", {"code": "AAA-1"})
    factories.ApiKeyFactory(name="Web shop")
    revoke(factories.ApiKeyFactory(name="Old POS", environment="sandbox"))
    factories.RewardFactory(name="Mug")
    factories.RewardFactory(name="Voucher", gives="coupon", pool=ten, active=False)
    row.segments = True
    row.save()
    rich = Segment.objects.create(
        name="Rich",
        conditions={"match": "all", "conditions": [{"field": "score", "operator": "ge", "value": "1500"}]},
    )
    Segment.objects.create(name="Imported", kind="static", status="inactive")
    rebuild(rich)
    newsletter = CustomerList.objects.create(name="Newsletter")
    other = CustomerList.objects.create(name="Other", status="inactive")
    register("customer_list_add", "Bob-2", {"list": newsletter.pk})
    BulkOperation.objects.create(
        type="customer_add", customer_list=newsletter, status="done", customers=["x"]
    )
    BulkOperation.objects.create(type="customer_remove", customer_list=other, customers=["y"])
    workflow_rows(anna)
    Job.objects.create(kind="import", key="a", created_at=now)
    Job.objects.create(kind="export", key="b", status="failed", created_at=now)
    for model, status, fmt in (("customers", "uploaded", "csv"), ("events", "finished", "xlsx")):
        DataImport.objects.create(model=model, status=status, format=fmt, environment="live", created_at=now)
    for model, status, fmt in (("customers", "pending", "csv"), ("ledger", "finished", "xlsx")):
        DataExport.objects.create(model=model, status=status, format=fmt, environment="live", created_at=now)
    return {
        "silver": silver,
        "bonus": bonus,
        "agent": agent,
        "default": default_account(),
        "segment": rich,
        "customer_list": newsletter,
        "crm": crm,
        "hook": hook,
    }


def test_every_filter_of_every_console_filterset_has_a_case():
    found = console_filtersets()
    assert "CustomerFilterSet" in found and "CustomerTransactionFilterSet" in found
    missing_sets = sorted(set(found) - set(CASES))
    assert not missing_sets, f"console FilterSets without CASES: {missing_sets}"
    stale_sets = sorted(set(CASES) - set(found))
    assert not stale_sets, f"CASES for FilterSets no console page uses: {stale_sets}"
    for name, filterset_class in found.items():
        untested = set(filterset_class.base_filters) - set(CASES[name])
        assert not untested, f"{name}: filters without a case: {sorted(untested)}"
        stale = set(CASES[name]) - set(filterset_class.base_filters)
        assert not stale, f"{name}: cases for filters it lacks: {sorted(stale)}"


@pytest.mark.parametrize(
    "filterset_name,name",
    [(fs, name) for fs, cases in CASES.items() for name in cases],
    ids=[f"{fs}.{name}" for fs, cases in CASES.items() for name in cases],
)
def test_each_filter_keeps_what_the_plain_orm_filter_keeps(rows, filterset_name, name):
    filterset_class = console_filtersets()[filterset_name]
    value, condition = CASES[filterset_name][name]
    if callable(value):
        value = value(rows)
    data = QueryDict(mutable=True)
    data.setlist(name, value if isinstance(value, list) else [str(value)])
    queryset = filterset_class._meta.model._default_manager.all()
    filterset = filterset_class(data, queryset=queryset)
    assert filterset.is_valid(), filterset.errors
    got = set(filterset.qs.values_list("pk", flat=True))
    expected = set(queryset.filter(condition).values_list("pk", flat=True))
    assert got == expected
    everything = set(queryset.values_list("pk", flat=True))
    assert len(everything) >= 2, "the rows fixture must give this model at least two rows"
    assert expected != everything, f"{name}={value!r} keeps every row, so it proves nothing"
