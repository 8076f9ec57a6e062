"""Demo data for the Talon.One profile features, added by seed_demo after the history:
loyalty cards (a generated batch, some registered, one transferred), referral codes with friends
who joined through them, subledgers with points starting and expiring later, budgets and
achievements with progress. Everything goes through the engine (source platform, the demo admin)."""

from __future__ import annotations

from achievements.models import Achievement
from budgets.models import Budget
from cards import cards
from cards.models import CardSettings
from customers.models import Customer
from events.choices import EventSource
from events.engine import register_event
from loyalty.errors import EngineError
from loyalty.models import Program
from referrals.models import ReferralSettings

MODULES = ("loyalty_cards", "referrals", "budgets", "achievements", "multi_accounts")


def seed_profile_features(admin, *, environment: str = "live", customers: int = 12) -> dict:
    """Configure the four modules and give the first `customers` active customers some data."""
    program = Program.objects.order_by("pk").first()
    for module in MODULES:
        setattr(program, module, True)
    program.save()
    settings = CardSettings.current()
    settings.users_per_card_limit, settings.code_prefix, settings.code_length = 2, "DEMO-", 8
    settings.save()
    referral = ReferralSettings.current()
    referral.code_prefix, referral.advocate_points, referral.friend_points, referral.usage_limit = (
        "FRIEND-",
        200,
        100,
        5,
    )
    referral.save()
    Budget.objects.get_or_create(
        campaign="Welcome", action="points_awarded", defaults={"limit": 20_000, "period": "monthly"}
    )
    Budget.objects.get_or_create(
        campaign="Coupons",
        action="coupon_redemptions",
        defaults={"limit": 3, "period": "weekly", "per_coupon": False},
    )
    Achievement.objects.get_or_create(
        api_name="three_logins",
        defaults={
            "title": "Log in three times",
            "campaign": "Engagement",
            "counts": "events",
            "action": "login",
            "target": 3,
            "period_amount": 1,
            "period_unit": "months",
            "recurrence": "on_expiration",
        },
    )
    Achievement.objects.get_or_create(
        api_name="big_spender",
        defaults={
            "title": "Spend 500",
            "campaign": "Spring",
            "counts": "purchase_total",
            "target": 500,
            "period_amount": 3,
            "period_unit": "months",
            "period_rounding": "end_of_month",
        },
    )
    people = list(
        Customer.objects.filter(
            environment=environment, status="active", anonymized_at__isnull=True
        ).order_by("pk")[:customers]
    )
    _batch_id, codes = cards.generate_batch(environment, max(20, customers * 2))
    done = {"cards": 0, "referrals": 0, "subledgers": 0, "logins": 0}

    def event(customer, action, source=EventSource.PLATFORM, **data):
        staff = source == EventSource.PLATFORM
        try:
            register_event(
                environment=environment,
                customer=customer,
                action=action,
                data=data,
                source=source,
                admin_user=admin if staff else None,
                reason="demo data" if staff else "",
            )
            return True
        except EngineError:
            return False

    for index, customer in enumerate(people):
        if event(customer, "card_register", card=codes[index]):
            done["cards"] += 1
        if index == 0:
            event(
                customer,
                "card_transfer",
                card=codes[index],
                new_card=f"DEMO-NEW-{customer.pk}",
                reason="card lost",
            )
        if index % 3 == 0:
            data = {
                "points": 150,
                "subledger": "store-budapest",
                "reward_start": "2 days",
                "reward_expiration": "6 months@last_day_of_month",
            }
            if event(customer, "point_add", **data):
                done["subledgers"] += 1
        for _ in range(index % 4):
            done["logins"] += event(customer, "login", source=EventSource.API)
        if index < 4 and event(customer, "referral_code_create", code=f"FRIEND-{customer.customer_id}"):
            friend = f"F{customer.customer_id}"
            code = f"FRIEND-{customer.customer_id}"
            if event(friend, "opt_in", source=EventSource.API, first_name="Friend", referral_code=code):
                done["referrals"] += 1
    return done
