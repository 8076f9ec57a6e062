"""Every URL name the documentation mentions exists (issue 12 item 10): docs/*.md and
docs/user-guide/*.md, in inline code (`customers:customer_points`) and in code examples
(`reverse("customers:label_add")`, `Tab("Coupons", "coupons:customer_coupons")`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import get_resolver

from loyalty.api.models import Scope

from .console_access import all_url_names

DOCS = Path(settings.BASE_DIR) / "docs"
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
NAME = re.compile(r"\b([a-z_]+):([a-z_]+)\b(?!:)")
QUOTED = re.compile(r"""["']([a-z_]+):([a-z_]+)["']""")
NOT_URL_NAMES = set(Scope.values)  # API key scopes look alike: `customers:read`, `events:write`


def doc_files() -> list[Path]:
    return sorted([*DOCS.glob("*.md"), *DOCS.glob("user-guide/*.md")])


def mentioned_url_names(text: str, namespaces: set[str]) -> set[str]:
    """`ns:name` in inline code when `ns` is a URL namespace, and every quoted "ns:name" string in
    a fenced code example (so an example with a namespace that does not exist is caught too)."""
    found = set()
    for block in FENCE.findall(text):
        found |= {f"{ns}:{name}" for ns, name in QUOTED.findall(block)}
        found |= {f"{ns}:{name}" for ns, name in NAME.findall(block) if ns in namespaces}
    for span in INLINE.findall(FENCE.sub("", text)):
        found |= {f"{ns}:{name}" for ns, name in NAME.findall(span) if ns in namespaces}
    return found - NOT_URL_NAMES


def namespaces() -> set[str]:
    return set(get_resolver().namespace_dict)


def test_the_scan_finds_names_in_inline_code_and_examples():
    text = (
        "Use `customers:customer_points` and `customers:read`; `field:value` is a placeholder.\n"
        "```python\nTab('X', 'coupons:customer_coupons')\nNavItem('Y', \"nowhere:page\")\n```\n"
    )
    found = mentioned_url_names(text, {"customers", "coupons"})
    assert found == {"customers:customer_points", "coupons:customer_coupons", "nowhere:page"}


def test_the_docs_mention_url_names():
    mentioned = set().union(*(mentioned_url_names(p.read_text(), namespaces()) for p in doc_files()))
    assert "customers:customer_points" in mentioned


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_url_name_the_docs_mention_exists(path):
    unknown = sorted(mentioned_url_names(path.read_text(), namespaces()) - all_url_names())
    assert not unknown, f"docs/{path.relative_to(DOCS)} names URLs that do not exist: {unknown}"
