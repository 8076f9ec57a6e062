"""The customer list's search box on a large database: server time of `/customers/?q=...` for the
kinds of query people type (part of a name, of an e-mail, an exact ID, accents left out, two
letters, no match), with the SQL time and the plan's index use.

PostgreSQL only (the trigram indexes of customers migration 0007). Uses the current database unless
BENCH_SEARCH_DB names another. `python -m bench.bench_search fill N` first grows it to N customers
with bench_console's set-based filler (plain customers without history). BENCH_REPEAT runs per
query after a warm-up (default 7); the budget is 150 ms (the console's page budget).
"""

from __future__ import annotations

import os
import statistics
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

BUDGET_MS = 150


def _use_database(name: str | None) -> None:
    if name:
        conn = connections["default"]
        conn.close()
        conn.settings_dict["NAME"] = name
    cache.clear()


def _measure(client: Client, url: str, repeat: int) -> tuple[float, float, int, float, int]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    rows = len(response.context["table"].rows) if response.context and "table" in response.context else -1
    return statistics.median(times), max(times), len(queries), sql_ms, rows


def run() -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print("bench_search: needs PostgreSQL (DATABASE_URL); skipped")
        return
    _use_database(os.environ.get("BENCH_SEARCH_DB"))
    repeat = int(os.environ.get("BENCH_REPEAT", "7"))

    from django.contrib.auth.models import User

    from customers.models import Customer
    from loyalty.roles import sync_roles

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        cursor.execute("SELECT count(*) FROM customers_customer WHERE environment = 'live'")
        customers = cursor.fetchone()[0]
    sample = (
        Customer.objects.filter(environment="live")
        .exclude(email="")
        .order_by("-id")[min(customers - 1, customers // 3) : min(customers, customers // 3 + 1)]
        .first()
    )
    assert sample is not None, "no customers: fill the database first"
    print(f"database {connection.settings_dict['NAME']}: {customers:,} live customers; {repeat} runs each")
    sync_roles()
    user, _ = User.objects.get_or_create(username="bench-search", defaults={"is_superuser": True})
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    local = sample.email.split("@")[0]
    queries = [
        ("baseline: the list, no search", ""),
        ("exact customer ID", sample.customer_id),
        ("part of a customer ID", sample.customer_id[-6:]),
        ("whole e-mail", sample.email),
        ("part of an e-mail", local[1:]),
        ("first and last name", f"{sample.first_name} {sample.last_name}".strip() or local),
        ("common first name (many hits)", sample.first_name or "anna"),
        ("accent left out (muller ~ Müller)", "muller"),
        ("case differs (SMITH)", "SMITH"),
        ("two letters (below trigram size)", "an"),
        ("no match", "zzqxj-nobody"),
    ]
    print(f"{'query':40} {'median ms':>10} {'max ms':>8} {'queries':>8} {'sql ms':>7} {'rows':>5}")
    baseline = None
    over = []
    for label, text in queries:
        url = "/customers/" + (f"?q={text}" if text else "")
        median, worst, n, sql_ms, rows = _measure(client, url, repeat)
        baseline = baseline or median
        if median > BUDGET_MS:
            over.append(label)
        print(
            f"{label:40} {median:10.1f} {worst:8.1f} {n:8d} {sql_ms:7.0f} {rows:5d}   {median / baseline:.1f}x list"
        )
    print("all within budget" if not over else f"over budget ({BUDGET_MS} ms): {', '.join(over)}")


if __name__ == "__main__":
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    django.setup()
    if sys.argv[1:2] == ["fill"]:
        from bench.bench_console import fill

        os.environ.setdefault("BENCH_CONSOLE_DB", connections["default"].settings_dict["NAME"])
        fill(int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000, 0)
    else:
        run()
