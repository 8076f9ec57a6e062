"""Test data, defined once: factory_boy factories for configuration objects, and the engine helpers
for everything with state.

Configuration objects (users with a role, point accounts, tiers, custom fields, labels, coupon pools,
rewards, earning rules, event definitions, API keys) are plain rows, so factories build them::

    from tests.factories import CouponPoolFactory, UserFactory
    pool = CouponPoolFactory(value=5)
    agent = UserFactory(role="support agent")

Customers, points, coupons in use and transactions change only through events (the one rule,
docs/architecture.md), so they are made with `enroll` / `register`, which call
`events.engine.register_event` exactly as an integration would::

    from tests.factories import enroll, register, refused
    anna = enroll("Anna-1", email="anna@example.com", points=500)
    refused(ValidationError, "data.points", lambda: register("point_spend", "Anna-1", {"points": 9999}))

The shared `anna` fixture (tests/conftest.py) is `anna()` below.
"""

from __future__ import annotations

from collections.abc import Callable

import factory
import pytest
from django.contrib.auth.models import Group, User
from factory.django import DjangoModelFactory

from coupons.models import CouponPool, Reward
from customers.models import Customer, CustomField, Label
from events.choices import EventSource
from events.engine import register_event
from events.models import Event, EventDefinition
from loyalty import clock
from loyalty.api.keys import create_api_key
from loyalty.api.models import ApiKey
from loyalty.audit.models import ChangeRequest
from loyalty.ledger.accounts import default_account
from loyalty.models import PointAccount, Tier, TierStructure
from loyalty.roles import sync_roles
from transactions.models import EarningRule

PASSWORD = "correct-horse-battery"

# Engine helpers ----------------------------------------------------------------------------------


def register(
    action: str, customer: str | None = "Anna-1", data: dict | None = None, environment="live", **kwargs
):
    """`register_event` with the tests' defaults (customer Anna-1, live); returns the EventResult."""
    return register_event(
        environment=environment, customer=customer, action=action, data=data or {}, **kwargs
    )


def console(action: str, customer: str = "Anna-1", data: dict | None = None, **kwargs):
    """An event as the console's buttons register it (source platform)."""
    return register(action, customer, data, source=EventSource.PLATFORM, **kwargs)


def live(customer_id: str = "Anna-1", environment: str = "live") -> Customer:
    """The live (not anonymized) customer row with this ID."""
    return Customer.objects.get(environment=environment, customer_id=customer_id, anonymized_at__isnull=True)


def enroll(customer_id: str = "Anna-1", environment: str = "live", points: int = 0, **data) -> Customer:
    """Opt a customer in through the engine (`opt_in` with `data` as attributes), then add `points`
    with a `point_add` event when given; returns the fresh customer row."""
    register("opt_in", customer_id, data, environment=environment)
    if points:
        register("point_add", customer_id, {"points": points}, environment=environment)
    return live(customer_id, environment)


def anna(points: int = 0, **data) -> Customer:
    """Anna-1, the suite's usual customer: Anna Smith, anna@example.com, Germany; `data` overrides."""
    attributes = {"first_name": "Anna", "last_name": "Smith", "email": "anna@example.com", "country": "DE"}
    return enroll("Anna-1", points=points, **{**attributes, **data})


def counts() -> tuple[int, int]:
    """(customers, events): what a refused call must leave unchanged."""
    return Customer.objects.count(), Event.objects.count()


def refused(error_class: type[Exception], field: str | None, call: Callable):
    """Run `call`, expect `error_class` naming `field`, and check that nothing was stored
    (no customer, no event); returns the error for further assertions."""
    before = counts()
    with pytest.raises(error_class) as caught:
        call()
    assert caught.value.field == field, caught.value.message
    assert counts() == before
    return caught.value


# Factories for configuration objects -------------------------------------------------------------


class UserFactory(DjangoModelFactory):
    """A console user; `role` is a group name from loyalty.roles.ROLES (None: signed in, no role).
    The password is PASSWORD."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if not (create and extracted):
            return
        if not Group.objects.filter(name=extracted).exists():
            sync_roles()  # a browser test (transactional_db) flushed the groups the migration made
        user.groups.add(Group.objects.get(name=extracted))


class PointAccountFactory(DjangoModelFactory):
    class Meta:
        model = PointAccount

    code = factory.Sequence(lambda n: f"account-{n}")
    name = factory.Sequence(lambda n: f"Account {n}")


class TierStructureFactory(DjangoModelFactory):
    class Meta:
        model = TierStructure
        django_get_or_create = ("code",)

    code = "main"
    name = "Main"


class TierFactory(DjangoModelFactory):
    class Meta:
        model = Tier

    structure = factory.SubFactory(TierStructureFactory)
    code = factory.Sequence(lambda n: f"tier-{n}")
    name = factory.LazyAttribute(lambda tier: tier.code.title())
    threshold = 0


class CustomFieldFactory(DjangoModelFactory):
    class Meta:
        model = CustomField

    name = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda field: field.name.replace("_", " ").capitalize())


class LabelFactory(DjangoModelFactory):
    class Meta:
        model = Label

    name = factory.Sequence(lambda n: f"Label {n}")


class CouponPoolFactory(DjangoModelFactory):
    class Meta:
        model = CouponPool

    name = factory.Sequence(lambda n: f"Pool {n}")
    type = "amount"
    value = 10


class RewardFactory(DjangoModelFactory):
    class Meta:
        model = Reward

    name = factory.Sequence(lambda n: f"Reward {n}")
    points = 100
    account = factory.LazyFunction(default_account)


class EarningRuleFactory(DjangoModelFactory):
    """The earning rule of an account (one per account; defaults to the default account)."""

    class Meta:
        model = EarningRule
        django_get_or_create = ("account",)

    account = factory.LazyFunction(default_account)
    points_per_unit = 1


class EventDefinitionFactory(DjangoModelFactory):
    class Meta:
        model = EventDefinition

    action = factory.Sequence(lambda n: f"custom_action_{n}")
    label = factory.LazyAttribute(lambda definition: definition.action.replace("_", " ").capitalize())


class ApiKeyFactory(factory.Factory):
    """An API key made by `loyalty.api.keys.create_api_key`; the one-time secret is on `.plain_secret`."""

    class Meta:
        model = ApiKey

    name = factory.Sequence(lambda n: f"Shop {n}")
    environment = "live"

    @classmethod
    def _create(cls, model_class, **kwargs):
        api_key, secret = create_api_key(**kwargs)
        api_key.plain_secret = secret
        return api_key

    _build = _create


class ChangeRequestFactory(DjangoModelFactory):
    """A pending change request (content approval), as `loyalty.audit.changes.submit_change` queues
    it; not a state change itself, so a plain row."""

    class Meta:
        model = ChangeRequest

    created_at = factory.LazyFunction(clock.now)
    requested_by = factory.SubFactory(UserFactory, role="support agent")
    customer = factory.LazyFunction(live)
    environment = factory.LazyAttribute(lambda request: request.customer.environment)
    action = "point_add"
    data = factory.LazyFunction(lambda: {"points": 10})
    reason = "goodwill"
