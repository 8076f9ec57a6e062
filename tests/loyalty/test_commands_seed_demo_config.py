"""seed_demo without customers: the configuration part and argument checks."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from customers.models import Customer
from loyalty.models import PointAccount, TierStructure

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_it_refuses_negative_counts():
    with pytest.raises(CommandError):
        seed(customers=-1)
    assert not User.objects.filter(username="admin").exists()


def test_configuration_alone_is_repeatable():
    from loyalty.management.commands.seed_demo import configure_program

    seed(customers=0)
    configure_program()
    assert PointAccount.objects.filter(is_default=True).count() == 1
    assert TierStructure.objects.get(code="status").tiers.count() == 3
    assert Customer.objects.count() == 0
