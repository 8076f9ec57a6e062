"""`manage.py seed_demo`: a realistic demo program, loaded once.

    program settings, point accounts, tier structure, custom fields and events, labels
    staff users (admin/admin, manager/manager, agent/agent, analyst/analyst, approver/approver)
    customers with two years of history, registered through `events.engine.register_event`
    segments (built) and customer lists (loyalty.demo.segments)

History is replayed in time order with the clock moved by time-machine, so points earned two
years ago really expired when the expiration task ran at that time, and tiers follow. Everything
is one transaction: a failed run leaves nothing behind and can simply be repeated. "Once" means:
when the demo administrator exists, the command does nothing.
"""

import os
import time
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from coupons.models import Reward
from customers.choices import FieldType
from customers.models import CustomField, Label
from events.models import EventAttribute, EventDefinition
from loyalty.demo.history import seed_history
from loyalty.demo.people import COLORS
from loyalty.demo.profile_features import seed_profile_features
from loyalty.demo.segments import seed_segments
from loyalty.ledger.accounts import clear_account_cache
from loyalty.models import PointAccount, Program, Tier, TierStructure
from loyalty.models.ledger import ExpirationRule, PeriodUnit, Rounding
from transactions.models import EarningRule
from workflows.demo import seed_workflows

DEMO_ADMIN = "admin"
# username, password, role, first name, last name. The passwords are intentionally weak: demo only.
STAFF = [
    ("admin", "admin", "administrator", "Ada", "Admin"),
    ("manager", "manager", "program manager", "Mona", "Manager"),
    ("agent", "agent", "support agent", "Sam", "Support"),
    ("analyst", "analyst", "analyst", "Ann", "Analyst"),
    ("approver", "approver", "approver", "April", "Approver"),
]
MODULES_ON = ["tiers", "expiring_points", "coupons", "rewards", "transactions", "multi_accounts", "segments"]


class Command(BaseCommand):
    help = "Load the demo program, staff users and customers with two years of history (once)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300, help="live customers (default 300)")
        parser.add_argument(
            "--sandbox-customers",
            type=int,
            default=None,
            help="sandbox customers (default 20, fewer if --customers is smaller)",
        )
        parser.add_argument(
            "--seed", type=int, default=2024, help="random seed: the same seed gives the same data"
        )

    def handle(self, *args, customers, sandbox_customers, seed, **options):
        if customers < 0 or (sandbox_customers is not None and sandbox_customers < 0):
            raise CommandError("Customer counts must be zero or more.")
        if User.objects.filter(username=DEMO_ADMIN).exists():
            self.stdout.write(f"Demo data already loaded (user {DEMO_ADMIN!r} exists): nothing to do.")
            self.print_login()
            return
        if sandbox_customers is None:
            sandbox_customers = min(20, customers)
        started = time.monotonic()
        with transaction.atomic():
            configure_program()
            users = create_staff()
            stats = seed_history(
                live=customers,
                sandbox=sandbox_customers,
                seed=seed,
                admin=users[DEMO_ADMIN],
                log=self.stdout.write if options["verbosity"] > 1 else None,
            )
            seed_segments(users[DEMO_ADMIN])
            # cards, referrals, subledgers, budgets, achievements.
            seed_profile_features(users[DEMO_ADMIN])
            seed_workflows(users[DEMO_ADMIN])  # demo workflows and their run history
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo program 'Demo Rewards' loaded in {elapsed:.1f}s: {stats['customers']} customers, "
                f"{stats['events']} events ({stats['refused']} refused attempts skipped)."
            )
        )
        self.print_login()

    def print_login(self):
        port = os.environ.get("PORT", "8000")
        self.stdout.write(f"Log in at http://127.0.0.1:{port}/login/")
        self.stdout.write("  " + ", ".join(f"{u}/{p} ({role})" for u, p, role, *_ in STAFF))


def configure_program() -> Program:
    """Program settings, accounts, tiers, custom fields and events, labels. Safe to run twice."""
    program = Program.objects.order_by("pk").first() or Program()
    program.name = "Demo Rewards"
    program.base_currency = "EUR"
    program.time_zone = "Europe/Budapest"
    for module in MODULES_ON:
        setattr(program, module, True)
    program.save()

    PointAccount.objects.filter(is_default=True).exclude(code="points").update(is_default=False)
    points, _ = PointAccount.objects.update_or_create(
        code="points",
        defaults={
            "name": "Points",
            "is_default": True,
            "burn_rates": [{"amount": 1, "points": 100, "currency": "EUR"}],
            "expiration_rule": ExpirationRule.FIXED_PERIOD,
            "expiration_period": 12,
            "expiration_unit": PeriodUnit.MONTHS,
            "expiration_rounding": Rounding.END_OF_MONTH,
        },
    )
    status_points, _ = PointAccount.objects.update_or_create(
        code="status_points",
        defaults={"name": "Status points", "is_default": False, "expiration_rule": ExpirationRule.NONE},
    )
    clear_account_cache()

    structure, _ = TierStructure.objects.update_or_create(
        code="status",
        defaults={
            "name": "Status tiers",
            "qualification_months": 12,
            "tier_validity_months": 12,
            "position": 0,
        },
    )
    structure.accounts.set([points, status_points])  # tier points: everything earned in 12 months
    for code, name, threshold in (
        ("bronze", "Bronze", 0),
        ("silver", "Silver", 1000),
        ("gold", "Gold", 5000),
    ):
        Tier.objects.update_or_create(
            structure=structure, code=code, defaults={"name": name, "threshold": threshold}
        )

    fields: list[tuple[str, str, str, dict[str, Any]]] = [
        ("favorite_color", "Favorite color", FieldType.CHOICE, {"choices": COLORS}),
        (
            "loyalty_barcode",
            "Loyalty card barcode",
            FieldType.STRING,
            {"regex": r"^[0-9]{13}$", "external_id": True, "searchable": True},
        ),
        ("shoe_size", "Shoe size", FieldType.NUMBER, {}),
    ]
    for position, (name, label, field_type, extra) in enumerate(fields):
        CustomField.objects.update_or_create(
            name=name, defaults={"label": label, "type": field_type, "position": position, **extra}
        )

    events = [
        (
            "review_written",
            "Review written",
            50,
            [("product_id", "string", True), ("rating", "integer", False)],
        ),
        ("app_download", "App download", 100, [("platform", "string", False)]),
    ]
    for action, label, points_awarded, attributes in events:
        definition, _ = EventDefinition.objects.update_or_create(
            action=action, defaults={"label": label, "points": points_awarded, "active": True}
        )
        for name, attr_type, required in attributes:
            EventAttribute.objects.update_or_create(
                definition=definition, name=name, defaults={"type": attr_type, "required": required}
            )

    for name in ("vip", "newsletter", "staff"):
        Label.objects.get_or_create(name=name)
    configure_catalog(points)
    return program


def configure_catalog(points: PointAccount) -> None:
    """An earning rule (1 point per EUR, 100 bonus points on the first purchase) and rewards."""
    EarningRule.objects.update_or_create(
        account=points, defaults={"active": True, "points_per_unit": 1, "first_purchase_bonus": 100}
    )
    rewards = [
        ("Free coffee", "A coffee in any of our stores.", 200),
        ("5 EUR voucher", "5 EUR off your next purchase.", 500),
        ("Canvas tote bag", "Our limited-edition tote bag.", 2500),
    ]
    for name, description, cost in rewards:
        Reward.objects.update_or_create(
            name=name,
            defaults={"description": description, "points": cost, "account": points, "active": True},
        )


def create_staff() -> dict[str, User]:
    """The demo staff, one per role. `create_user` directly: the weak passwords are on purpose."""
    users = {}
    for username, password, role, first_name, last_name in STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                password=password,
                email=f"{username}@example.com",
                first_name=first_name,
                last_name=last_name,
            )
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    return users
