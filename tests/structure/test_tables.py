"""Every table says something when it is empty, and no table repeats a header: django-tables2
tables declare `Meta.empty_text` (ObjectListView turns "No X yet." into "No X match these
filters." when a filter is on); hand-written template tables either have `{% empty %}` or are
shown only when their rows exist."""

import importlib
import pkgutil
import re
from pathlib import Path

import django_tables2 as tables
import pytest
from django.apps import apps
from django.test import RequestFactory

from loyalty.console.views import empty_text, is_filtered

ROOT = Path(__file__).resolve().parents[2]


def table_classes() -> list[type]:
    found = []
    for app in apps.get_app_configs():
        if not app.path.startswith(str(ROOT)) or "site-packages" in app.path:
            continue  # the project's apps only (the venv may live inside the checkout)
        names = [f"{app.name}.tables"] + [
            f"{app.name}.{m.name}" for m in pkgutil.iter_modules([app.path]) if m.name.endswith("tables")
        ]
        for name in dict.fromkeys(names):
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError:
                continue
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, tables.Table) and obj.__module__ == name:
                    found.append(obj)
    return found


def test_the_walk_finds_the_tables():
    names = {cls.__name__ for cls in table_classes()}
    assert {"RewardTable", "CustomerTable", "CouponPoolTable", "ApiKeyTable"} <= names


@pytest.mark.parametrize("table_class", table_classes(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_table_has_an_empty_text_and_unique_headers(db, table_class):
    model = table_class._meta.model
    table = table_class(model.objects.none() if model else [])
    assert table_class._meta.empty_text, f"{table_class.__name__}: set Meta.empty_text"
    headers = [str(column.header).strip().lower() for column in table.columns]
    repeated = {h for h in headers if h and headers.count(h) > 1}
    assert not repeated, f"{table_class.__name__} repeats headers {repeated}"


def test_the_rewards_table_names_its_account_column(db):
    from coupons.models import Reward
    from coupons.tables import RewardTable

    headers = [str(c.header) for c in RewardTable(Reward.objects.none()).columns]
    assert headers[:3] == ["Name", "Cost", "Account"]


def test_a_filtered_empty_list_says_nothing_matches():
    assert empty_text("No rewards yet.", filtered=False) == "No rewards yet."
    assert empty_text("No rewards yet.", filtered=True) == "No rewards match these filters."
    assert empty_text(None, filtered=True) == "Nothing matches these filters."
    assert empty_text("No customers carry this label.", filtered=True) == "No customers carry this label."
    factory = RequestFactory()
    assert not is_filtered(factory.get("/", {"sort": "-name", "per_page": "50", "q": ""}))
    assert is_filtered(factory.get("/", {"q": "anna"}))


def test_template_tables_say_when_they_are_empty_or_are_hidden():
    bad = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<tbody>(.*?)</tbody>", text, re.S):
            loop = re.search(r"{% for [\w, ]+ in ([\w.]+)", match.group(1))
            if not loop or "{% empty %}" in match.group(1):
                continue
            root = loop.group(1).split(".")[0]
            before = text[max(0, match.start() - 500) : match.start()]
            if root == "form" or re.search(r"{% for form in", match.group(1)):
                continue  # formset rows
            if not re.search(r"{%\s*if " + re.escape(root) + r"\b", before):
                bad.append(f"{path.relative_to(ROOT)}: {{% for … in {loop.group(1)} %}}")
    assert not bad, "tables with neither {% empty %} nor an {% if %} around them:\n" + "\n".join(bad)
