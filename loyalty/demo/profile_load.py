"""Benchmark-scale data for the Talon.One profile features (`generate_load_data
--profile-features`), written set-based after the customers are loaded, as the engine would have
written them for each generated customer (`load-` IDs in the given id range):

- every 10th customer holds a loyalty card `LOAD-<id>` (registered when the customer was created);
- every 20th customer is an advocate with a referral code `LREF<id>` (unlimited uses), and the
  next customer (id + 1) was referred with it at their first event (their `referrer` is set);
- one budget (campaign "load", points awarded, monthly) with this month's counter per customer
  (their earned points capped at the limit);
- one achievement (`load_logins`, 50 logins a month) with a run for every 5th customer.
The budget and achievement definitions are created once (get_or_create). Plain INSERT ... SELECT
statements that work on PostgreSQL and SQLite; one transaction per call."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from achievements.models import Achievement, AchievementProgress
from budgets.models import Budget, BudgetCounter
from cards.models import CardRegistration, LoyaltyCard
from referrals.models import Referral, ReferralCode

LIMIT = 1_000_000


def add_profile_features(environment: str, low: int, high: int, now: dt.datetime) -> None:
    """Add the profile features' rows for the `load-` customers with ids low..high (see above)."""
    budget, _ = Budget.objects.get_or_create(
        campaign="load", action="points_awarded", defaults={"limit": LIMIT, "period": "monthly"}
    )
    achievement, _ = Achievement.objects.get_or_create(
        api_name="load_logins", defaults={"title": "50 logins a month", "action": "login", "target": 50}
    )
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    month = ops.adapt_datefield_value(now.date().replace(day=1))
    customers = "customers_customer"
    scope = "c.environment = %s AND c.id BETWEEN %s AND %s AND c.customer_id LIKE 'load-%%'"
    args = [environment, low, high]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LoyaltyCard._meta.db_table} (environment, code, status, block_reason, batch_id, "
            f"created_at, updated_at) SELECT c.environment, 'LOAD-' || c.id, 'active', '', 'load', "
            f"c.created_at, %s FROM {customers} c WHERE {scope} AND c.id %% 10 = 0",
            [stamp, *args],
        )
        cursor.execute(
            f"INSERT INTO {CardRegistration._meta.db_table} (card_id, customer_id, registered_at) "
            f"SELECT k.id, c.id, c.created_at FROM {customers} c JOIN {LoyaltyCard._meta.db_table} k "
            f"ON k.environment = c.environment AND k.code = 'LOAD-' || c.id WHERE {scope} AND c.id %% 10 = 0",
            args,
        )
        cursor.execute(
            f"INSERT INTO {ReferralCode._meta.db_table} (environment, code, advocate_id, usage_limit, "
            f"usage_counter, created_at) SELECT c.environment, 'LREF' || c.id, c.id, 0, 1, c.created_at "
            f"FROM {customers} c WHERE {scope} AND c.id %% 20 = 0",
            args,
        )
        cursor.execute(
            f"INSERT INTO {Referral._meta.db_table} (environment, code_id, advocate_id, friend_id, "
            f"transaction_id, created_at, event_id, advocate_rewarded) "
            f"SELECT c.environment, r.id, r.advocate_id, c.id, '', c.created_at, "
            f"(SELECT min(e.id) FROM events_event e WHERE e.customer_id = c.id), %s "
            f"FROM {customers} c JOIN {ReferralCode._meta.db_table} r "
            f"ON r.environment = c.environment AND r.code = 'LREF' || (c.id - 1) "
            f"WHERE {scope} AND c.id %% 20 = 1 "
            f"AND EXISTS (SELECT 1 FROM events_event e WHERE e.customer_id = c.id)",
            [True, *args],
        )
        cursor.execute(
            f"UPDATE {customers} SET referrer_id = (SELECT r.advocate_id FROM {Referral._meta.db_table} r "
            f"WHERE r.friend_id = {customers}.id) WHERE environment = %s AND id BETWEEN %s AND %s "
            f"AND id %% 20 = 1 AND EXISTS (SELECT 1 FROM {Referral._meta.db_table} r "
            f"WHERE r.friend_id = {customers}.id)",
            args,
        )
        cursor.execute(
            f"INSERT INTO {BudgetCounter._meta.db_table} (budget_id, customer_id, period_start, coupon_code, "
            f"counter, updated_at) SELECT %s, c.id, %s, '', CASE WHEN c.score > %s THEN %s ELSE c.score END, "
            f"%s FROM {customers} c WHERE {scope} AND c.score > 0",
            [budget.pk, month, LIMIT, LIMIT, stamp, *args],
        )
        cursor.execute(
            f"INSERT INTO {AchievementProgress._meta.db_table} (achievement_id, customer_id, start_at, end_at, "
            f"progress, status, updated_at) SELECT %s, c.id, %s, NULL, c.id %% 50, 'in_progress', %s "
            f"FROM {customers} c WHERE {scope} AND c.id %% 5 = 0",
            [achievement.pk, stamp, stamp, *args],
        )
