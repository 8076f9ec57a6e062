"""The customer profile's tabs and header action buttons: two explicit lists.

Each tab is its own URL and view (`customers.views.CustomerTabView` subclass) that runs only its
own queries; the header (name, ID, status, tier, spendable) and the action buttons come from the
base view, so every tab shows them.

Adding a profile tab (e.g. Transactions, from the transactions app)
-------------------------------------------------------------------
1. A line here: ``Tab("Transactions", "transactions:customer_transactions", module="transactions",
   weight=50, badge=...)``. Keep badges to a cheap indexed count for the one customer.
2. A small view::

       class CustomerTransactionsView(CustomerTabView):
           active_tab = "transactions:customer_transactions"
           template_name = "transactions/customer_transactions.html"

           def get_context_data(self, **kwargs):
               context = super().get_context_data(**kwargs)
               context["table"] = self.paginate_table(TransactionTable(self.object.transactions.all()))
               return context

3. A URL taking ``ref`` (the customer ID or ``field:value``), e.g. in transactions/urls.py
   ``path("customer/<str:ref>/", CustomerTransactionsView.as_view(), name="customer_transactions")``
   (or under customers/urls.py as ``customers/<str:ref>/transactions/``).
4. A template: ``{% extends "customers/customer_base.html" %}`` filling ``{% block tab_content %}``.

Adding a header action (e.g. Claim a reward, Resync) is one `ProfileAction` line below plus a
`customers.views.actions.CustomerActionView` subclass and its URL; the button shows only to users
holding the permission while its module is on, and the view refuses everyone else anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coupons.models import Coupon
from customers.choices import CustomerStatus
from loyalty.audit.models import ChangeLogEntry
from loyalty.console.views import CappedBadge, Tab
from transactions.models import Transaction

BADGE_CAP = 99
# Tab badges: the customer's rows counted up to BADGE_CAP ("99+" beyond), all of a page's in one
# statement (loyalty.console.views.CappedBadge), so a customer with thousands of rows costs what
# one with 100 does.
_TRANSACTIONS = CappedBadge(Transaction, "customer", BADGE_CAP)
_COUPONS = CappedBadge(Coupon, "customer", BADGE_CAP)
_CHANGES = CappedBadge(ChangeLogEntry, "customer", BADGE_CAP)


CUSTOMER_TABS: list[Tab] = [
    Tab("Overview", "customers:customer_overview", weight=10),
    Tab("Personal information", "customers:customer_personal", weight=20),
    Tab("Events", "customers:customer_events", weight=30),
    Tab("Points history", "customers:customer_points", weight=40),
    Tab("Tiers", "customers:customer_tiers", module="tiers", weight=60),
    Tab("Changes", "customers:customer_changes", weight=90, badge=_CHANGES),
    Tab(
        "Transactions",
        "transactions:customer_transactions",
        module="transactions",
        weight=50,
        badge=_TRANSACTIONS,
    ),
    Tab("Coupons", "coupons:customer_coupons", module="coupons", weight=55, badge=_COUPONS),
    # (Talon.One profile)
    Tab("Loyalty points", "customers:customer_loyalty_points", weight=42),
    Tab("Attributes", "customers:customer_attributes", weight=22),
    Tab("Sessions", "transactions:customer_sessions", module="transactions", weight=52),
    Tab("Loyalty cards", "cards:customer_cards", module="loyalty_cards", weight=62),
    Tab("Referred customers", "referrals:customer_referrals", module="referrals", weight=64),
    Tab("Budgets", "budgets:customer_budgets", module="budgets", weight=66),
    Tab("Achievements", "achievements:customer_achievements", module="achievements", weight=68),
    # (workflows)
    Tab("Workflow logs", "workflows:customer_workflow_logs", module="workflows", weight=85),
    Tab("Sync", "webhooks:customer_sync", module="sync", weight=87),  # 000: requests sent to other systems
]


@dataclass(frozen=True)
class ProfileAction:
    """A button in the profile header. `show_if(customer)` hides it when it does not apply."""

    label: str
    url_name: str
    # The events the page registers: the button shows when the user may register any of them
    # (events.permissions); `permission` is for a page that registers none of its own.
    actions: tuple[str, ...] = ()
    permission: str = ""
    module: str | None = None
    show_if: Callable | None = None
    danger: bool = False
    group: str = "more"  # "main": always visible; "more": under the More menu


def _status_in(*statuses):
    return lambda customer: customer.status in statuses


_LIVE = (CustomerStatus.INACTIVE, CustomerStatus.PENDING, CustomerStatus.ACTIVE, CustomerStatus.SUSPENDED)

PROFILE_ACTIONS: list[ProfileAction] = [
    ProfileAction(
        "Manage points",
        "customers:customer_manage_points",
        ("point_add", "point_sub", "point_spend"),
        group="main",
    ),
    ProfileAction(
        "Add action", "customers:customer_add_event", permission="loyalty.add_customer_events", group="main"
    ),
    ProfileAction(
        "Merge",
        "customers:customer_merge",
        ("merge",),
        show_if=_status_in(CustomerStatus.ACTIVE, CustomerStatus.INACTIVE, CustomerStatus.PENDING),
    ),
    ProfileAction(
        "Claim a reward",
        "coupons:customer_claim_reward",
        ("reward",),
        module="rewards",
        show_if=_status_in(CustomerStatus.ACTIVE, CustomerStatus.INACTIVE, CustomerStatus.PENDING),
    ),
    ProfileAction(
        "Suspend",
        "customers:customer_suspend",
        ("suspend",),
        show_if=_status_in(CustomerStatus.ACTIVE, CustomerStatus.INACTIVE, CustomerStatus.PENDING),
    ),
    ProfileAction(
        "Unsuspend",
        "customers:customer_unsuspend",
        ("unsuspend",),
        show_if=_status_in(CustomerStatus.SUSPENDED),
    ),
    ProfileAction("Tier up", "customers:customer_tier_up", ("tier_up",), module="tiers"),
    ProfileAction("Tier down", "customers:customer_tier_down", ("tier_down",), module="tiers"),
    ProfileAction("Remove tier", "customers:customer_tier_remove", ("tier_remove",), module="tiers"),
    ProfileAction(
        "Change tier expiration",
        "customers:customer_tier_expiration",
        ("tier_expiration_change",),
        module="tiers",
    ),
    ProfileAction(
        "Resync", "webhooks:customer_resync", permission="loyalty.change_customer_profile", module="sync"
    ),
    ProfileAction("Ban", "customers:customer_ban", ("ban",), show_if=_status_in(*_LIVE), danger=True),
    ProfileAction("Unban", "customers:customer_unban", ("unban",), show_if=_status_in(CustomerStatus.BANNED)),
    ProfileAction(
        "Opt out",
        "customers:customer_opt_out",
        ("opt_out",),
        show_if=_status_in(*_LIVE, CustomerStatus.BANNED),
        danger=True,
    ),
]
