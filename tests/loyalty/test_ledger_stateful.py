"""A Hypothesis state machine drives the ledger through the engine with random add / spend / sub /
reserve / release / clock moves with expiration and activation runs / change-expiration / merge
steps, against a plain Python model of the lots. After every step each lot and every balance
figure must match the model, and the ledger's own consistency check must pass."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from customers.models import Customer
from events.engine import register_event
from loyalty.errors import InsufficientPoints, ValidationError
from loyalty.ledger.checks import verify_customer
from loyalty.models import PointLot
from loyalty.tasks import expire_and_activate

START = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
IDS = ["ann", "ben"]
FAR = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class Lot:
    def __init__(self, pk, points, expires_at, activates_at, created_at, now):
        self.pk, self.points, self.expires_at, self.activates_at, self.created_at = (
            pk,
            points,
            expires_at,
            activates_at,
            created_at,
        )
        self.used = self.expired = self.reserved = 0
        self.status = "pending" if activates_at and activates_at > now else "active"

    @property
    def remaining(self):
        return self.points - self.used - self.expired - self.reserved

    def order(self):
        return (self.expires_at or FAR, self.created_at, self.pk)

    def settle(self):
        if self.status in ("active", "exhausted"):
            self.status = "active" if self.remaining > 0 or self.reserved > 0 else "exhausted"


class Member:
    def __init__(self):
        self.lots: list[Lot] = []
        self.earned = self.spent = self.expired = 0

    def figures(self):
        return {
            "score": self.earned,
            "spent": self.spent,
            "expired": self.expired,
            "spendable": sum(lot.remaining for lot in self.lots if lot.status == "active"),
            "pending": sum(lot.points for lot in self.lots if lot.status == "pending"),
            "reserved": sum(lot.reserved for lot in self.lots),
        }

    def ordered(self):
        return sorted(self.lots, key=Lot.order)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        cache.clear()
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.now = START
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.members = {customer_id: Member() for customer_id in IDS}

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        self.traveller.stop()
        cache.clear()

    def register(self, customer_id, action, **data):
        return register_event(environment="live", customer=customer_id, action=action, data=data)

    @rule(
        who=st.sampled_from(IDS),
        points=st.integers(1, 100),
        expires_in=st.none() | st.integers(1, 90),
        activates_in=st.none() | st.integers(1, 20),
    )
    def add(self, who, points, expires_in, activates_in):
        data = {"points": points}
        expires_at = self.now + dt.timedelta(days=expires_in) if expires_in else None
        activates_at = self.now + dt.timedelta(days=activates_in) if activates_in else None
        if expires_at:
            data["expiration_date"] = expires_at.isoformat()
        if activates_at:
            data["activation_date"] = activates_at.isoformat()
        if expires_at and activates_at and expires_at <= activates_at:
            with pytest.raises(ValidationError):
                self.register(who, "point_add", **data)
            return
        result = self.register(who, "point_add", **data)
        lot = result.lots_created[0]
        member = self.members[who]
        member.lots.append(Lot(lot.pk, points, expires_at, activates_at, self.now, self.now))
        member.earned += points

    def _take(self, member, points, kind):
        left = points
        for lot in member.ordered():
            if left == 0:
                break
            if lot.status != "active" or lot.remaining <= 0:
                continue
            n = min(left, lot.remaining)
            if kind == "reserve":
                lot.reserved += n
            else:
                lot.used += n
            lot.settle()
            left -= n

    @rule(
        who=st.sampled_from(IDS),
        points=st.integers(1, 150),
        kind=st.sampled_from(["spend", "sub", "reserve"]),
    )
    def debit(self, who, points, kind):
        member = self.members[who]
        action = {"spend": "point_spend", "sub": "point_sub", "reserve": "reserve_points"}[kind]
        if points > member.figures()["spendable"]:
            with pytest.raises(InsufficientPoints):
                self.register(who, action, points=points)
            return
        self.register(who, action, points=points)
        self._take(member, points, kind)
        if kind == "spend":
            member.spent += points
        elif kind == "sub":
            member.earned -= points

    @rule(who=st.sampled_from(IDS), points=st.integers(1, 80))
    def release(self, who, points):
        member = self.members[who]
        if points > member.figures()["reserved"]:
            with pytest.raises(InsufficientPoints):
                self.register(who, "release_points", points=points)
            return
        self.register(who, "release_points", points=points)
        left = points
        for lot in member.ordered():
            if left == 0:
                break
            n = min(left, lot.reserved)
            lot.reserved -= n
            if lot.status == "expired":
                lot.expired += n
                member.expired += n
            left -= n
            lot.settle()

    @rule(days=st.integers(0, 40), hours=st.integers(0, 23))
    def time_passes(self, days, hours):
        self.now += dt.timedelta(days=days, hours=hours)
        self.clock.move_to(self.now)
        expire_and_activate()
        for member in self.members.values():
            for lot in member.lots:
                if lot.status == "pending" and lot.activates_at <= self.now:
                    lot.status = "active"
                    lot.settle()
            for lot in member.lots:
                if lot.status == "active" and lot.expires_at and lot.expires_at <= self.now:
                    member.expired += lot.remaining
                    lot.expired += lot.remaining
                    lot.status = "expired"

    @precondition(lambda self: any(m.lots for m in self.members.values()))
    @rule(data=st.data(), days=st.integers(-5, 90))
    def change_expiration(self, data, days):
        who = data.draw(st.sampled_from([w for w in IDS if self.members[w].lots]))
        lot = data.draw(st.sampled_from(self.members[who].lots))
        new_date = self.now + dt.timedelta(days=days)
        allowed = lot.status in ("active", "pending") and not (
            lot.status == "pending" and new_date <= lot.activates_at
        )
        if not allowed:
            with pytest.raises(ValidationError):
                self.register(who, "change_expiration", lots=[lot.pk], expiration_date=new_date.isoformat())
            return
        self.register(who, "change_expiration", lots=[lot.pk], expiration_date=new_date.isoformat())
        lot.expires_at = new_date

    @precondition(
        lambda self: all(Customer.objects.filter(customer_id=w, anonymized_at=None).exists() for w in IDS)
    )
    @rule(target_first=st.booleans())
    def merge(self, target_first):
        target, source = IDS if target_first else IDS[::-1]
        self.register(target, "merge", source=source)
        moved = self.members[source]
        into = self.members[target]
        into.lots.extend(moved.lots)
        into.earned += moved.earned
        into.spent += moved.spent
        into.expired += moved.expired
        self.members[source] = Member()  # the source's ID is free again: a new profile next time

    @invariant()
    def books_match_the_model(self):
        for who, member in self.members.items():
            customer = Customer.objects.filter(
                environment="live", customer_id=who, anonymized_at=None
            ).first()
            if customer is None:
                assert member.figures() == Member().figures()
                continue
            actual = {name: getattr(customer, name) for name in member.figures()}
            assert actual == member.figures(), who
            lots = {
                lot.pk: (lot.status, lot.remaining, lot.reserved)
                for lot in PointLot.objects.filter(customer=customer)
            }
            assert lots == {lot.pk: (lot.status, lot.remaining, lot.reserved) for lot in member.lots}
            assert verify_customer(customer) == []


@pytest.mark.django_db
def test_ledger_matches_a_simple_model(program):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
