"""`make bench`: runs every benchmark module in bench/ and prints figures and ratios.

Each benchmark is a module `bench/bench_*.py` with a `run() -> None` that prints its figures.
Benchmarks need PostgreSQL (DATABASE_URL) for representative numbers.
"""

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    django.setup()
    selected = sys.argv[1:]
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")
    )
    if not names:
        print("no benchmarks yet")
    for name in names:
        if selected and name not in selected:
            continue
        print(f"== {name}")
        importlib.import_module(f"bench.{name}").run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
