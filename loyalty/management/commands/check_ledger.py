"""`manage.py check_ledger`: verify the points ledger invariants of every customer.

Exit status 0 when the books balance, 1 when any invariant is violated (each problem printed on
stderr, at most --limit of them). Walks customers in chunks (--chunk-size), so memory stays bounded
on any size of database (20M events: one chunk's lots and balances at a time). Read-only; safe to
run against production (use a replica for very large programs).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from loyalty.ledger.checks import iter_problems


class Command(BaseCommand):
    help = "Check the points ledger invariants of every customer; exit non-zero on a violation."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=500, help="customers per chunk (default 500)")
        parser.add_argument("--limit", type=int, default=100, help="stop after this many problems")

    def handle(self, *args, chunk_size: int, limit: int, **options):
        if chunk_size < 1 or limit < 1:
            raise CommandError("--chunk-size and --limit must be positive.")
        started = time.monotonic()
        problems = 0
        for problem in iter_problems(chunk_size):
            problems += 1
            self.stderr.write(problem)
            if problems >= limit:
                self.stderr.write(f"Stopped after {limit} problems.")
                break
        elapsed = time.monotonic() - started
        if problems:
            raise CommandError(f"The ledger has {problems}+ invariant violation(s).", returncode=1)
        self.stdout.write(f"Ledger OK ({elapsed:.1f} s).")
