"""The code names rules by their source (a seed document, the reference), not by the issue that
asked for them: issue numbers are breadcrumbs that mean nothing to the next reader."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
CODE = (
    "loyalty",
    "customers",
    "events",
    "transactions",
    "coupons",
    "segments",
    "workflows",
    "cards",
    "referrals",
    "budgets",
    "achievements",
    "templates",
    "bench",
)
BREADCRUMB = re.compile(r"\b[Ii]ssues? \d+")


def test_no_issue_number_breadcrumbs_in_the_code():
    found = []
    for top in CODE:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".py", ".html") or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if BREADCRUMB.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert found == []
