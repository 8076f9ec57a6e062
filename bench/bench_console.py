"""Console server time on benchmark-scale data: the customer list (plain, filtered, sorted, a page
far into the list, quick search) and every profile tab of a customer with 10,000 events.

PostgreSQL only. Uses the database BENCH_CONSOLE_DB (default `loyalty_bench`, the 1M customers /
20M events database made by `manage.py generate_load_data`); it is migrated first (the console's
indexes and the change log table). When it holds no `load-` customer with BENCH_HISTORY (10,000)
events, one is generated with `generate_load_data --customers 1 --events-per-customer 10000`.

Server time is one request through the whole Django stack in-process (middleware, view, queries,
template rendering), measured with the test client: BENCH_REPEAT runs (default 7) after one warm-up;
the median and the worst are printed (003's Talon.One tabs too: the customer is given cards,
referral codes with friends, a budget, an achievement and a subledger through the engine first), with the number of SQL queries of one request and their
database time ("sql ms"; the rest is Python: view, forms and template rendering).

No generated database yet? `BENCH_CONSOLE_DB=bench_console python -m bench.bench_console fill` bulk-loads
1,000,000 customers and 20 history events each with set-based SQL (see `fill`).
"""

from __future__ import annotations

import os
import statistics
import time

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, connections, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

BUDGET_MS = 150

# Fallback filler (`python -m bench.bench_console fill [customers] [events]`): when the generated
# database is not available, bulk-insert plain customers and history events with set-based SQL.
# The rows are shaped like real ones (names, emails, countries, balances, custom attributes, a mix
# of statuses, login/profile events); the customer with the long history still comes from
# generate_load_data, so its lots, ledger and balances are consistent.
FILL_CUSTOMERS_SQL = """
INSERT INTO customers_customer (environment, customer_id, status, first_name, last_name, nickname, email,
  birth_date, gender, language, currency, phone, mobile_phone, image_url, handler, country, city, zip, address,
  custom, score, spent, spendable, pending, reserved, expired, purchase_total, purchase_count, purchase_items,
  purchase_last_date, optin_at, last_login_at, last_activity_at, created_at, updated_at, password)
SELECT 'live', 'fill-' || lpad(g::text, 9, '0'),
  CASE WHEN g %% 50 = 0 THEN 'inactive' WHEN g %% 97 = 0 THEN 'suspended' ELSE 'active' END,
  (ARRAY['Anna','Ben','Clara','David','Emma','Felix','Greta','Hugo','Ida','Jonas','Karla','Lena'])[1 + g %% 12],
  (ARRAY['Muller','Schmidt','Smith','Garcia','Rossi','Dubois','Novak','Kowalski','Jensen','Silva','Brown','Lee',
         'Wagner','Becker','Hoffmann','Klein'])[1 + (g / 12) %% 16] || (g %% 1000)::text,
  '', 'user' || g || '@example.com', date '1950-01-01' + (g %% 20000)::int,
  (ARRAY['female','male','other'])[1 + g %% 3], 'en', 'EUR', '', '', '', '',
  (ARRAY['DE','AT','CH','FR','IT','ES','NL','PL','GB','US'])[1 + (g * 7) %% 10], '', '', '',
  jsonb_build_object('shoe_size', 35 + g %% 12, 'club', (ARRAY['red','blue','green'])[1 + g %% 3]),
  (g * 7919) %% 20000, ((g * 7919) %% 20000) * 3 / 10, ((g * 7919) %% 20000) * 65 / 100, 0, 0,
  ((g * 7919) %% 20000) * 5 / 100, (g %% 5000)::numeric, g %% 40, g %% 120, NULL,
  now() - (g %% 730) * interval '1 day', now() - (g %% 90) * interval '1 hour', now() - (g %% 90) * interval '1 hour',
  now() - (g %% 730) * interval '1 day', now(), ''
FROM generate_series(%s::bigint, %s::bigint) AS g
"""
FILL_EVENTS_SQL = """
INSERT INTO events_event (environment, customer_id, action, label, timestamp, effective_at, points, transaction_id,
  data, source, reason, user_agent)
SELECT 'live', c.id, a.action, a.label, c.created_at + (s * interval '3 days'), c.created_at + (s * interval '3 days'),
  0, '', a.data, 'api', '', 'bench-fill'
FROM customers_customer c
CROSS JOIN generate_series(1, %s) AS s
CROSS JOIN LATERAL (SELECT CASE WHEN s %% 3 = 0 THEN 'profile' ELSE 'login' END AS action,
                           CASE WHEN s %% 3 = 0 THEN 'Profile update' ELSE 'Login' END AS label,
                           CASE WHEN s %% 3 = 0 THEN jsonb_build_object('city', 'Berlin') ELSE '{}'::jsonb END AS data) a
WHERE c.id BETWEEN %s AND %s AND c.customer_id LIKE 'fill-%%'
"""


def fill(customers: int = 1_000_000, events_per_customer: int = 20, chunk: int = 50_000) -> None:
    """Bulk-fill the benchmark database (see FILL_CUSTOMERS_SQL), one transaction per chunk."""
    name = os.environ.get("BENCH_CONSOLE_DB", "loyalty_bench")
    _use_database(name)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer WHERE customer_id LIKE 'fill-%%'")
        have = cursor.fetchone()[0]
    started = time.monotonic()
    for first in range(have + 1, customers + 1, chunk):
        last = min(first + chunk - 1, customers)
        with connection.cursor() as cursor:
            cursor.execute(FILL_CUSTOMERS_SQL, [first, last])
        print(f"customers {last:,} ({time.monotonic() - started:.0f}s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        cursor.execute("SELECT min(id), max(id) FROM customers_customer WHERE customer_id LIKE 'fill-%%'")
        low, high = cursor.fetchone()
        cursor.execute(
            "SELECT coalesce(max(customer_id), 0) FROM events_event WHERE user_agent = 'bench-fill'"
        )
        done_up_to = max(cursor.fetchone()[0], low - 1)
    for first in range(done_up_to + 1, high + 1, chunk):
        last = min(first + chunk - 1, high)
        with connection.cursor() as cursor:
            cursor.execute(FILL_EVENTS_SQL, [events_per_customer, first, last])
        print(f"events for customers up to id {last:,} ({time.monotonic() - started:.0f}s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event")


def _use_database(name: str) -> None:
    conn = connections["default"]
    conn.close()
    conn.settings_dict["NAME"] = name
    cache.clear()


def _customer_with_history(events: int):
    from customers.models import Customer
    from events.models import Event

    # The most recently generated load customer with a long history, else make one.
    candidate = (
        Customer.objects.filter(customer_id__startswith="load-", anonymized_at__isnull=True)
        .order_by("-id")
        .first()
    )
    if candidate is not None and Event.objects.filter(customer=candidate).order_by().count() >= events:
        return candidate
    call_command(
        "generate_load_data",
        customers=1,
        events_per_customer=events,
        batch=1,
        workers=1,
        stdout=open(os.devnull, "w"),
    )
    return Customer.objects.filter(customer_id__startswith="load-").order_by("-id").first()


def _profile_features(customer) -> None:
    """Give the long-history customer the Talon.One profile features' data, through the engine
    (once): the modules on, a budget and an achievement counting its events, two registered cards,
    referral codes with 50 friends, a subledger with points. The tabs then read real rows."""
    from achievements.models import Achievement
    from budgets.models import Budget
    from cards import cards
    from cards.models import CardRegistration
    from events.engine import register_event
    from loyalty.models import Program

    program = Program.objects.order_by("pk").first()
    for module in ("loyalty_cards", "referrals", "budgets", "achievements", "multi_accounts"):
        setattr(program, module, True)
    program.save()
    if CardRegistration.objects.filter(customer=customer).exists():
        return
    Budget.objects.get_or_create(campaign="bench", action="points_awarded", defaults={"limit": 10**12})
    Achievement.objects.get_or_create(
        api_name="bench_logins",
        defaults={"title": "Bench logins", "counts": "events", "action": "login", "target": 10**6},
    )

    def reg(action, who=customer, **data):
        return register_event(environment="live", customer=who, action=action, data=data)

    for code in (f"BENCH-{customer.pk}-1", f"BENCH-{customer.pk}-2"):
        cards.create_card("live", code)
        reg("card_register", card=code)
    reg("referral_code_create", code=f"BENCHREF-{customer.pk}", usage_limit=0)
    for i in range(50):
        reg("opt_in", who=f"bench-friend-{customer.pk}-{i}", referral_code=f"BENCHREF-{customer.pk}")
    reg("point_add", points=100, subledger="bench-outlet")
    for _ in range(20):
        reg("login")


def _measure(client: Client, url: str, repeat: int) -> tuple[float, float, int, int]:
    response = client.get(url)  # warm-up (caches, plans)
    status = response.status_code
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    return statistics.median(times), max(times), len(queries), status, sql_ms


def run() -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print("bench_console: needs PostgreSQL (DATABASE_URL); skipped")
        return
    name = os.environ.get("BENCH_CONSOLE_DB", "loyalty_bench")
    repeat = int(os.environ.get("BENCH_REPEAT", "7"))
    history = int(os.environ.get("BENCH_HISTORY", "10000"))
    _use_database(name)
    call_command("migrate", verbosity=0)

    from django.contrib.auth.models import User

    from customers.models import Customer
    from loyalty.roles import sync_roles

    sync_roles()
    user, _ = User.objects.get_or_create(
        username="bench-console", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)

    with connection.cursor() as cursor:
        # Fresh statistics: right after a bulk load the planner may think one customer owns every
        # event and walk the primary key instead of the per-customer index.
        for table in ("customers_customer", "events_event", "loyalty_ledgerentry", "loyalty_pointlot"):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'customers_customer'")
        estimate = cursor.fetchone()[0]
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'events_event'")
        events_estimate = cursor.fetchone()[0]
    print(f"database {name}: ~{estimate:,} customers, ~{events_estimate:,} events")

    from customers.models import CustomField

    CustomField.objects.get_or_create(name="club", defaults={"label": "Club", "type": "string"})
    CustomField.objects.get_or_create(name="shoe_size", defaults={"label": "Shoe size", "type": "number"})
    customer = _customer_with_history(history)
    _profile_features(customer)
    ref = customer.customer_id
    sample = (
        Customer.objects.filter(environment="live").exclude(country="").order_by("id")[1000:1001].first()
        or customer
    )
    middle = (
        Customer.objects.filter(environment="live")
        .order_by("-id")
        .values_list("id", flat=True)[max(0, estimate // 2)]
        if estimate > 0
        else customer.pk
    )
    by_score = (
        Customer.objects.filter(environment="live")
        .order_by("-score", "-id")
        .values_list("id", flat=True)[max(0, estimate // 2)]
        if estimate > 0
        else customer.pk
    )
    event = customer.events.order_by("-id").first()
    deep_event = customer.events.order_by("-id").values_list("id", flat=True)[min(history - 30, 9000)]

    pages = [
        ("list: plain (newest first)", "/customers/"),
        ("list: filtered country + score", f"/customers/?f=country:eq:{sample.country}&f=score:ge:100"),
        ("list: filtered email eq", f"/customers/?f=email:eq:{sample.email}"),
        ("list: filtered custom attrs (JSON)", "/customers/?f=club:eq:red&f=shoe_size:ge:40"),
        ("list: filtered, rare custom value (GIN)", "/customers/?f=club:eq:purple"),
        ("list: sorted by score desc", "/customers/?sort=-score"),
        ("list: deep page (middle, newest first)", f"/customers/?after={middle}"),
        ("list: deep page (middle, by score)", f"/customers/?sort=-score&after={by_score}"),
        ("list: quick search by ID", f"/customers/?q={sample.customer_id}"),
        ("list: Filter button status + country", f"/customers/?status=active&country={sample.country}"),
        ("tab: overview", f"/customers/{ref}/"),
        ("tab: personal information", f"/customers/{ref}/personal/"),
        ("tab: events", f"/customers/{ref}/events/"),
        ("tab: events, type filter", f"/customers/{ref}/events/?action=point_add"),
        ("tab: events, deep page", f"/customers/{ref}/events/?after={deep_event}"),
        ("tab: event details", f"/customers/{ref}/events/{event.pk}/"),
        ("tab: points history", f"/customers/{ref}/points/"),
        ("tab: tiers", f"/customers/{ref}/tiers/"),
        ("tab: changes", f"/customers/{ref}/changes/"),
        # 003's Talon.One tabs
        ("tab: loyalty points (all ledgers)", f"/customers/{ref}/loyalty-points/"),
        ("tab: sessions", f"/customers/{ref}/sessions/"),
        ("tab: loyalty cards", f"/customers/{ref}/cards/"),
        ("tab: referred customers", f"/customers/{ref}/referrals/"),
        ("tab: budgets", f"/customers/{ref}/budgets/"),
        ("tab: achievements", f"/customers/{ref}/achievements/"),
        ("tab: coupons", f"/customers/{ref}/coupons/"),
        ("tab: attributes", f"/customers/{ref}/attributes/"),
        ("action: manage points form", f"/customers/{ref}/points/manage/"),
        ("action: modify expiration form", f"/customers/{ref}/points/expiration/"),
    ]
    print(
        f"customer {ref}: {customer.events.order_by().count():,} events; {repeat} runs each, budget {BUDGET_MS} ms"
    )
    print(f"{'page':44} {'median ms':>10} {'max ms':>8} {'queries':>8} {'sql ms':>7} {'status':>6}")
    over = []
    for label, url in pages:
        reset_queries()
        median, worst, queries, status, sql_ms = _measure(client, url, repeat)
        flag = "" if median <= BUDGET_MS else "  OVER BUDGET"
        if median > BUDGET_MS:
            over.append(label)
        print(f"{label:44} {median:10.1f} {worst:8.1f} {queries:8d} {sql_ms:7.0f} {status:6d}{flag}")
    print("all within budget" if not over else f"over budget: {', '.join(over)}")


if __name__ == "__main__":
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    django.setup()
    if sys.argv[1:2] == ["fill"]:
        fill(*[int(a) for a in sys.argv[2:4]])
    else:
        run()
