"""Each node type, run through the engine on the action branch (one test per node)."""

import pytest

from coupons import pools
from coupons.models import Coupon
from events.models import Event
from loyalty.models import CustomerTier
from segments.models import CustomerList, CustomerListMember
from tests import factories
from workflows.models import RunStep, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def _fire(on_commit, *nodes, trigger="login", data=None):
    workflow = make_workflow(chain(on_event(trigger), *nodes))
    on_commit(lambda: factories.register(trigger, data=data or {}))
    run = WorkflowRun.objects.filter(workflow=workflow).first()
    return run, {step.node: step for step in RunStep.objects.filter(run=run)}


def _made(run) -> list[str]:
    return list(
        Event.objects.filter(workflow_id=run.workflow_id).order_by("id").values_list("action", flat=True)
    )


def test_point_add_and_point_sub(program, anna, on_commit):
    run, _ = _fire(
        on_commit,
        {"id": "add", "type": "point_add", "config": {"points": "{event.points} + 30"}},
        {
            "id": "sub",
            "type": "point_sub",
            "config": {"points": 10, "reason": "fee for {customer.first_name}"},
        },
        trigger="point_add",
        data={"points": 20},
    )
    assert _made(run) == ["point_add", "point_sub"]
    assert factories.live().spendable == 20 + 50 - 10
    assert Event.objects.get(action="point_sub").reason == "fee for Anna"


def test_assign_coupon_from_a_pool_and_from_a_pattern(program, anna, on_commit):
    pool = factories.CouponPoolFactory()
    pools.generate_codes(pool, 2)
    run, steps = _fire(
        on_commit,
        {"id": "next", "type": "assign_coupon", "config": {"pool": pool.pk}},
        {"id": "made", "type": "assign_coupon", "config": {"pool": pool.pk, "pattern": "BDAY-????"}},
    )
    assert _made(run) == ["coupon_assign", "coupon_assign"]
    assert Coupon.objects.filter(customer=factories.live()).count() == 2
    assert steps["made"].detail["generated"].startswith("BDAY-")


def test_transfer_coupon(program, anna, on_commit):
    pool = factories.CouponPoolFactory()
    factories.enroll("Ben-1")
    code = pools.generate_codes(pool, 1)[0]
    factories.register("coupon_assign", data={"code": code})
    run, _ = _fire(
        on_commit, {"id": "give", "type": "transfer_coupon", "config": {"code": code, "to": "Ben-1"}}
    )
    assert _made(run) == ["coupon_transfer"]
    assert Coupon.objects.get(code=code).customer == factories.live("Ben-1")


def test_labels_added_and_removed(program, anna, on_commit):
    run, steps = _fire(
        on_commit,
        {"id": "add", "type": "add_label", "config": {"label": "vip"}},
        {"id": "add_again", "type": "add_label", "config": {"label": "vip"}},
        {"id": "drop", "type": "remove_label", "config": {"label": "vip"}},
    )
    assert _made(run) == ["profile", "profile"]
    assert steps["add_again"].detail == {"note": "already labelled"}
    assert not factories.live().labels.exists()


def test_list_add_and_remove(program, anna, on_commit):
    program.segments = True
    program.save()
    customer_list = CustomerList.objects.create(name="Reached")
    run, steps = _fire(on_commit, {"id": "in", "type": "list_add", "config": {"list": customer_list.pk}})
    assert steps["in"].error == ""
    assert CustomerListMember.objects.filter(customer_list=customer_list).count() == 1
    assert _made(run) == ["customer_list_add"]
    run, steps = _fire(on_commit, {"id": "out", "type": "list_remove", "config": {"list": customer_list.pk}})
    assert not CustomerListMember.objects.exists()


def test_change_tier(program, anna, on_commit):
    program.tiers = True
    program.save()
    structure = factories.TierStructureFactory()
    factories.TierFactory(structure=structure, code="silver", threshold=0)
    factories.TierFactory(structure=structure, code="gold", threshold=1000)
    run, steps = _fire(on_commit, {"id": "tier", "type": "change_tier", "config": {"tier": "gold"}})
    assert "tier_change" in _made(run), steps["tier"].error


def test_trigger_event_with_templated_attributes(program, anna, on_commit):
    run, _ = _fire(
        on_commit,
        {
            "id": "t",
            "type": "trigger_event",
            "config": {"action": "profile", "data": {"city": "{customer.country}-town"}},
        },
    )
    assert factories.live().city == "DE-town"
    assert _made(run) == ["profile"]


def test_reward_claim(program, anna, on_commit):
    program.rewards = True
    program.save()
    reward = factories.RewardFactory(points=0)
    run, steps = _fire(on_commit, {"id": "r", "type": "reward_claim", "config": {"reward": str(reward.pk)}})
    assert _made(run) == ["reward"], steps["r"].error


def test_suspend(program, anna, on_commit):
    run, _ = _fire(on_commit, {"id": "s", "type": "suspend", "config": {"reason": "fraud check"}})
    assert factories.live().status == "suspended"


def test_modify_customer(program, anna, on_commit):
    _fire(
        on_commit,
        {"id": "m", "type": "modify_customer", "config": {"set": {"nickname": "{customer.first_name}!"}}},
    )
    assert factories.live().nickname == "Anna!"


def test_variables_and_the_variable_filter(program, anna, on_commit):
    run, steps = _fire(
        on_commit,
        {"id": "v", "type": "variable_assign", "config": {"name": "double", "value": "{event.points} * 2"}},
        {
            "id": "f",
            "type": "filter_variable",
            "config": {"conditions": {"conditions": [{"field": "double", "operator": "eq", "value": "40"}]}},
        },
        {"id": "a", "type": "point_add", "config": {"points": "vars.double"}},
        trigger="point_add",
        data={"points": 20},
    )
    assert steps["f"].output == "success"
    assert factories.live().spendable == 60


def test_customer_filter_uses_the_condition_language(program, anna, on_commit):
    run, steps = _fire(
        on_commit,
        {
            "id": "f",
            "type": "filter_customer",
            "config": {
                "conditions": {
                    "match": "all",
                    "conditions": [{"field": "country", "operator": "eq", "value": "AT"}],
                }
            },
        },
        {"id": "a", "type": "point_add", "config": {"points": 1}},
    )
    assert steps["f"].output == "failure" and "a" not in steps


def test_aggregated_earning_fraud_check_suspends(program, anna, on_commit):
    factories.register("point_add", data={"points": 900})
    run, steps = _fire(
        on_commit,
        {
            "id": "agg",
            "type": "filter_aggregate",
            "config": {"period": "today", "operator": "ge", "threshold": 1000},
        },
        {"id": "s", "type": "suspend", "config": {}},
        trigger="point_add",
        data={"points": 200},
    )
    assert steps["agg"].detail == {"earned": 1100}
    assert factories.live().status == "suspended"


def test_random_split_and_sticky_ab_test(program, anna, on_commit):
    graph = chain(
        on_event("login"),
        {
            "id": "ab",
            "type": "ab_test",
            "config": {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}]},
        },
    )
    graph["nodes"] += [
        {"id": "la", "type": "add_label", "config": {"label": "got-a"}},
        {"id": "lb", "type": "add_label", "config": {"label": "got-b"}},
    ]
    graph["edges"] += [{"from": "ab", "output": "a", "to": "la"}, {"from": "ab", "output": "b", "to": "lb"}]
    workflow = make_workflow(graph)
    for _ in range(3):
        on_commit(lambda: factories.register("login"))
    variants = set(RunStep.objects.filter(run__workflow=workflow, node="ab").values_list("output", flat=True))
    assert len(variants) == 1  # sticky per customer
    run, steps = _fire(
        on_commit,
        {"id": "r", "type": "filter_random", "config": {"percent": 100}},
        {"id": "x", "type": "add_label", "config": {"label": "lucky"}},
    )
    assert steps["r"].output == "success"


def test_modify_coupon(program, anna, on_commit):
    pool = factories.CouponPoolFactory()
    code = pools.generate_codes(pool, 1)[0]
    factories.register("coupon_assign", data={"code": code})
    run, steps = _fire(
        on_commit,
        {"id": "c", "type": "modify_coupon", "config": {"code": code, "expiration_date": "2030-01-31"}},
    )
    assert _made(run) == ["coupon_expiration_change"], steps["c"].error
    assert Coupon.objects.get(code=code).expires_at.date().isoformat() == "2030-01-31"


def test_remove_tier(program, anna, on_commit):
    program.tiers = True
    program.save()
    structure = factories.TierStructureFactory()
    factories.TierFactory(structure=structure, code="silver", threshold=0)
    factories.TierFactory(structure=structure, code="gold", threshold=1000)
    factories.register("tier_change", data={"tier": "gold"})
    run, steps = _fire(
        on_commit,
        {
            "id": "out",
            "type": "remove_tier",
            "config": {"tier": "gold", "reason": "{customer.first_name} left"},
        },
        # a second removal has nothing left to remove: its failure output, nothing stored
        {"id": "again", "type": "remove_tier", "config": {}},
    )
    assert _made(run) == ["tier_remove"], steps["out"].error
    event = Event.objects.get(action="tier_remove")
    assert event.reason == "Anna left" and event.data["tier"] == "gold"
    assert steps["out"].event_id == event.pk and steps["out"].output == "success"
    assert steps["again"].output == "failure" and "no tier" in steps["again"].error
    assert not CustomerTier.objects.filter(customer=factories.live()).exists()
