"""Server time and CPU of 003's Talon.One profile tabs, for an ordinary customer and for the
long-history customer, against a trivial page measured in the same run.

PostgreSQL only. Database BENCH_CONSOLE_DB (default `loyalty_bench`: made by `manage.py
generate_load_data --profile-features`, e.g. the 1M-customer / 20M-event one). The database is NOT
migrated here (it may be shared): apply your migrations first, naming them. The long-history
customer is the one `bench_console` creates (a `load-` customer with BENCH_HISTORY, 10,000,
events, given cards, referral codes with 50 friends, a budget, an achievement and a subledger
through the engine); it is made here when missing. The ordinary customer is a generated `load-`
customer in the middle of the id range holding a card, a referral code, a budget counter and an
achievement run (every 20th customer).

Each request goes through the whole Django stack in-process (middleware, view, queries, template),
with the test client. Pages are measured in rounds (BENCH_REPEAT, default 9, after one warm-up
round), one request of every page per round, so all pages see the same machine load. Printed per
page: median wall ms, median CPU ms of this process (time.process_time: Python, Django, the
driver; the database server's CPU is not in it), SQL statements of one request and their database
time, and the ratio of the median wall time to the trivial page's (the password-change page, which
renders the console's base template and nothing else). The profile summary header (on every tab)
is also timed alone (`transactions.sessions.profile_summary`). Target: every tab <= 50 ms.
"""

from __future__ import annotations

import os
import statistics
import time

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.bench_console import _customer_with_history, _profile_features, _use_database

TARGET_MS = 50

TABS = (
    ("loyalty points (all ledgers)", "loyalty-points/"),
    ("loyalty points (one ledger)", "loyalty-points/?ledger={ledger}"),
    ("achievements", "achievements/"),
    ("budgets", "budgets/"),
    ("loyalty cards", "cards/"),
    ("referred customers", "referrals/"),
    ("sessions", "sessions/"),
    ("coupons", "coupons/"),
    ("attributes", "attributes/"),
)


def _ordinary_customer():
    from customers.models import Customer

    ids = Customer.objects.filter(customer_id__startswith="load-").order_by()
    low = ids.order_by("id").values_list("id", flat=True).first()
    high = ids.order_by("-id").values_list("id", flat=True).first()
    middle = (low + high) // 2
    return (
        Customer.objects.filter(customer_id__startswith="load-", id__gte=middle - middle % 20)
        .alias(every_20th=F("id") % 20)
        .filter(every_20th=0)
        .order_by("id")
        .first()
    )


def _ledger_of(customer) -> str:
    from loyalty.ledger import log as ledger_log

    choices, _chosen = ledger_log.pick(customer, None)
    return choices[0].value if choices else ""


def _one(client: Client, url: str) -> tuple[float, float, int]:
    cpu, began = time.process_time(), time.perf_counter()
    response = client.get(url)
    return (time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000, response.status_code


def _summary(customer, repeat: int) -> tuple[float, float]:
    from transactions.sessions import profile_summary

    walls, cpus = [], []
    for _ in range(repeat + 1):
        cpu, began = time.process_time(), time.perf_counter()
        profile_summary(customer)
        walls.append((time.perf_counter() - began) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls[1:]), statistics.median(cpus[1:])


def run() -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print("bench_profile_tabs: needs PostgreSQL (DATABASE_URL); skipped")
        return
    settings.DEBUG = False
    name = os.environ.get("BENCH_CONSOLE_DB", "loyalty_bench")
    repeat = int(os.environ.get("BENCH_REPEAT", "9"))
    history = int(os.environ.get("BENCH_HISTORY", "10000"))
    _use_database(name)

    from django.contrib.auth.models import User

    from loyalty.roles import sync_roles

    sync_roles()
    user, _ = User.objects.get_or_create(
        username="bench-console", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'customers_customer'")
        customers = cursor.fetchone()[0]
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'events_event'")
        events = cursor.fetchone()[0]
    long = _customer_with_history(history)
    _profile_features(long)
    ordinary = _ordinary_customer() or long
    pages = [("trivial page (password change)", "/password/")]
    for who, customer in (("ordinary", ordinary), ("long history", long)):
        base = f"/customers/{customer.customer_id}/"
        pages += [
            (f"{who}: {label}", base + path.format(ledger=_ledger_of(customer))) for label, path in TABS
        ]
    walls: dict[str, list[float]] = {label: [] for label, _ in pages}
    cpus: dict[str, list[float]] = {label: [] for label, _ in pages}
    statuses: dict[str, int] = {}
    for round_ in range(repeat + 1):
        for label, url in pages:
            wall, cpu, status = _one(client, url)
            statuses[label] = status
            if round_:  # round 0 warms caches and plans
                walls[label].append(wall)
                cpus[label].append(cpu)
    queries: dict[str, tuple[int, float]] = {}
    for label, url in pages:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries[label] = (
            len(captured),
            sum(float(q["time"]) for q in captured.captured_queries) * 1000,
        )
    load = os.getloadavg()
    print(
        f"database {name}: ~{customers:,} customers, ~{events:,} events; load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {repeat} rounds"
    )
    print(
        f"ordinary customer {ordinary.customer_id} ({ordinary.events.order_by().count():,} events), "
        f"long-history customer {long.customer_id} ({long.events.order_by().count():,} events)"
    )
    baseline = statistics.median(walls[pages[0][0]])
    print(
        f"{'page':48} {'wall ms':>8} {'max':>7} {'CPU ms':>7} {'queries':>7} {'sql ms':>7} {'x trivial':>9}"
    )
    over = []
    for label, _url in pages:
        median = statistics.median(walls[label])
        n, sql_ms = queries[label]
        flag = "" if median <= TARGET_MS or label == pages[0][0] else "  OVER 50 ms"
        if flag:
            over.append(label)
        print(
            f"{label:48} {median:8.1f} {max(walls[label]):7.1f} {statistics.median(cpus[label]):7.1f}"
            f" {n:7d} {sql_ms:7.1f} {median / baseline:8.2f}x{flag}"
            + ("" if statuses[label] == 200 else f"  HTTP {statuses[label]}")
        )
    for who, customer in (("ordinary", ordinary), ("long history", long)):
        wall, cpu = _summary(customer, repeat)
        print(f"{who + ': profile summary alone':48} {wall:8.1f} {'':7} {cpu:7.1f}")
    print("all tabs within 50 ms" if not over else f"over 50 ms: {', '.join(over)}")
