"""seed_demo adds the issue-20 demo data through the engine."""

from io import StringIO

import pytest
from django.core.management import call_command

from achievements.models import AchievementProgress
from budgets.models import BudgetCounter
from cards.models import CardRegistration, LoyaltyCard
from events.models import Event
from loyalty.models import PointAccount, Program
from referrals.models import Referral

pytestmark = pytest.mark.django_db


def test_seed_demo_profile_features():
    call_command("seed_demo", customers=30, stdout=StringIO())
    program = Program.objects.get()
    assert program.loyalty_cards and program.referrals and program.budgets and program.achievements
    assert CardRegistration.objects.count() >= 5
    assert LoyaltyCard.objects.filter(status="blocked").count() == 1
    assert Referral.objects.count() == 4
    assert PointAccount.objects.filter(owner__isnull=False, code="store-budapest").exists()
    assert AchievementProgress.objects.exists()
    assert BudgetCounter.objects.exists()
    assert Event.objects.filter(action="card_register", reason="demo data").exists()
