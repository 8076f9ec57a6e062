"""generate_load_data --profile-features: the Talon.One features' rows for generated customers
(loyalty.demo.profile_load), consistent with what the engine would have written."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from achievements.models import AchievementProgress
from budgets.models import BudgetCounter
from cards.models import CardRegistration, LoyaltyCard
from customers.models import Customer
from loyalty.models import Program
from referrals.models import Referral, ReferralCode

pytestmark = pytest.mark.django_db


def test_profile_features_for_generated_customers(admin_client):
    program = Program.current()
    for module in ("loyalty_cards", "referrals", "budgets", "achievements"):
        setattr(program, module, True)
    program.save()
    out = StringIO()
    call_command(
        "generate_load_data",
        customers=45,
        events_per_customer=6,
        workers=1,
        profile_features=True,
        stdout=out,
    )
    ids = list(Customer.objects.filter(customer_id__startswith="load-").values_list("id", flat=True))
    assert len(ids) == 45
    assert LoyaltyCard.objects.count() == len([i for i in ids if i % 10 == 0])
    for registration in CardRegistration.objects.select_related("card", "customer"):
        assert registration.card.code == f"LOAD-{registration.customer_id}"  # each its own card
    advocates = [i for i in ids if i % 20 == 0]
    assert sorted(ReferralCode.objects.values_list("advocate_id", flat=True)) == advocates
    friends = {r.friend_id: r.advocate_id for r in Referral.objects.all()}
    assert friends == {i + 1: i for i in advocates if i + 1 in ids}
    for friend, advocate in friends.items():
        assert Customer.objects.get(pk=friend).referrer_id == advocate
    scored = Customer.objects.filter(customer_id__startswith="load-", score__gt=0)
    assert BudgetCounter.objects.count() == scored.count()
    for counter in BudgetCounter.objects.select_related("customer"):
        assert counter.counter == min(counter.customer.score, 1_000_000)
    assert AchievementProgress.objects.count() == len([i for i in ids if i % 5 == 0])
    holder = LoyaltyCard.objects.order_by("id").first().registrations.get().customer
    for name in ("cards:customer_cards", "budgets:customer_budgets", "achievements:customer_achievements"):
        response = admin_client.get(reverse(name, kwargs={"ref": holder.customer_id}))
        assert response.status_code == 200
    assert (
        f"LOAD-{holder.pk}"
        in admin_client.get(
            reverse("cards:customer_cards", kwargs={"ref": holder.customer_id})
        ).content.decode()
    )
