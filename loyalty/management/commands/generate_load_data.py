"""`manage.py generate_load_data --customers N --events-per-customer M`: benchmark-scale data, fast.

Generate-then-load. Each batch of customers is generated in Python with its whole history (opt-in,
checkouts, point adds and spends, profile updates, logins, and the point expirations the nightly
task would have registered), as the rows the engine would have written: events, point lots,
ledger entries, one balance per customer for the default account and the customer's denormalized
totals. IDs come from the tables' own sequences. The rows are then loaded in one transaction per
batch: COPY on PostgreSQL (several worker processes, each with its own connection), executemany
on SQLite. Nothing the migrations own is dropped or disabled: indexes, constraints and the events
immutability trigger stay in place.

Consistent by construction: per customer, spendable == sum of the active lots' remaining points,
earned/spent/expired match the ledger entries, and every customer has exactly M events besides
the engine's `point_expire` events. Resume-safe enough: a new run appends customers numbered after
the highest existing `load-NNNNNNNNN` ID; a failed batch rolls back whole.

This writes rows directly instead of calling register_event on purpose: it is the benchmark
fixture the engine is measured against, and it reproduces the engine's effects row for row.
"""

import multiprocessing
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction

from customers.models import Customer
from loyalty import clock
from loyalty.choices import Environment
from loyalty.demo import bulk_load, load_rows, profile_load
from loyalty.ledger.accounts import clear_account_cache, default_account
from loyalty.models import Program

PREFIX = "load-"


class Command(BaseCommand):
    help = "Create large consistent benchmark data: customers with events, lots, ledger entries and balances."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True)
        parser.add_argument("--events-per-customer", type=int, default=20)
        parser.add_argument("--environment", default=Environment.LIVE, choices=Environment.values)
        parser.add_argument(
            "--batch", type=int, default=50000, help="customers per batch (one transaction each)"
        )
        parser.add_argument(
            "--workers", type=int, default=None, help="loader processes (PostgreSQL; default 2)"
        )
        parser.add_argument("--days", type=int, default=730, help="history spans up to this many days back")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE at the end")
        parser.add_argument(
            "--no-transactions", action="store_true", help="checkout events without Transaction rows (faster)"
        )
        parser.add_argument(
            "--profile-features",
            action="store_true",
            help="also cards, referral codes and referrals, budget counters and achievement runs "
            "(loyalty.demo.profile_load) for the generated customers",
        )

    def handle(
        self, *args, customers, events_per_customer, environment, batch, workers, days, seed, **options
    ):
        if customers < 1 or events_per_customer < 1 or batch < 1 or days < 1:
            raise CommandError("--customers, --events-per-customer, --batch and --days must be at least 1.")
        postgres = connection.vendor == "postgresql"
        workers = max(1, workers or (2 if postgres else 1)) if postgres else 1
        clear_account_cache()
        program = Program.current()
        account = default_account()
        first = next_customer_number(environment)
        plan = load_rows.Plan(
            environment=str(environment),
            events_per_customer=events_per_customer,
            days=days,
            seed=seed,
            account=account,
            time_zone=program.time_zone,
            expiring=program.expiring_points,
            postgres=postgres,
            transactions=not options["no_transactions"],
        )
        batches = [
            (number, min(batch, first + customers - number))
            for number in range(first, first + customers, batch)
        ]
        self.stdout.write(
            f"Generating {customers} customers x {events_per_customer} events into {str(environment)!r} "
            f"({connection.vendor}, {len(batches)} batches, {workers} worker(s)); first ID {PREFIX}{first:09d}"
        )
        started = time.monotonic()
        totals = {"customers": 0, "events": 0, "lots": 0, "entries": 0, "transactions": 0}
        for counts in self.run(plan, batches, workers):
            for key in totals:
                totals[key] += counts[key]
            elapsed = time.monotonic() - started
            self.stdout.write(
                f"  {totals['customers']:>9} customers  {totals['events']:>11} events  {totals['lots']:>10} lots  "
                f"{totals['entries']:>10} entries  {elapsed:7.0f}s  {totals['events'] / elapsed:8.0f} events/s"
            )
            self.stdout.flush()
        if options.get("profile_features"):
            ids = Customer.objects.filter(
                environment=environment,
                customer_id__gte=f"{PREFIX}{first:09d}",
                customer_id__lte=f"{PREFIX}{first + customers - 1:09d}",
            ).values_list("id", flat=True)
            if ids:
                profile_load.add_profile_features(str(environment), min(ids), max(ids), clock.now())
                self.stdout.write(
                    "Profile features added (cards, referrals, budget counters, achievement runs)."
                )
        if postgres and not options["no_analyze"]:
            with connection.cursor() as cursor:
                for table in bulk_load.TABLES:
                    cursor.execute(f'ANALYZE "{table}"')
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {elapsed:.0f}s: {totals['customers']} customers, {totals['events']} events "
                f"({totals['events'] / max(elapsed, 0.001):.0f} events/s), {totals['lots']} lots, "
                f"{totals['entries']} ledger entries, {totals['transactions']} transactions."
            )
        )
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
                self.stdout.write(f"Database size: {cursor.fetchone()[0]}")

    def run(self, plan, batches, workers):
        if workers == 1:
            for number, count in batches:
                yield load_batch(plan, number, count)
            return
        # Each worker opens its own connection: close ours so no socket is shared across fork.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=connections.close_all) as pool:
            jobs = [(plan, number, count) for number, count in batches]
            yield from pool.imap_unordered(_load_batch_star, jobs)


def _load_batch_star(job):
    return load_batch(*job)


def load_batch(plan, number, count) -> dict:
    """Generate and load one batch in one transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        ids = bulk_load.IdAllocator(connection)
        rows = load_rows.generate(plan, number, count, ids)
        bulk_load.write(connection, rows)
    return rows.counts()


def next_customer_number(environment: str) -> int:
    """One past the highest `load-NNNNNNNNN` customer ID (IDs are zero-padded, so text order works)."""
    last = (
        Customer.objects.filter(
            environment=environment, customer_id__startswith=PREFIX, anonymized_at__isnull=True
        )
        .order_by("-customer_id")
        .values_list("customer_id", flat=True)
        .first()
    )
    if last is None:
        return 1
    try:
        return int(last[len(PREFIX) :]) + 1
    except ValueError:
        raise CommandError(f"Unexpected load customer ID {last!r}; use another environment.")
