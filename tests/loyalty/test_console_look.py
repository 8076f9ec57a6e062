"""Issue 16 §1/§2: one look on every console page.

A populated program (a customer with custom fields, a checkout with items, a console change, tier
changes, a coupon, a reward, settings of every kind) and then every console page type that a GET
can open: each page shows dates only as `YYYY-MM-DD` or `YYYY-MM-DD HH:MM` inside a <time> whose
title carries the full timestamp, groups its big numbers, states the program's time zone, and
shows no raw Python/JSON structure (`{'…`, `['…`, `{"…`) in its visible text.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from coupons.models import CouponPool, Reward
from coupons.pools import import_codes
from customers.models import CustomField, Label
from events.engine import register_event
from events.models import Event
from loyalty.audit.changes import register_change
from loyalty.console import formatting
from loyalty.ledger.accounts import default_account
from loyalty.models import Program, Tier, TierStructure
from tests.transactions.helpers import item
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

# Any date-like text on a page: ISO dates, d/m/Y, m/d/Y, "Nov. 18, 1985", "May 5, 2025".
ANY_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}\b"
)
ONE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?$")
RAW_STRUCTURE = re.compile(r"[{\[]\s*['\"]|['\"]\s*:\s*[{\[]|\{\}|\[\]")
UNGROUPED = re.compile(r"(?<![\d.,:/#-])\d{5,}(?![\d.,:/-])")


class VisibleText(HTMLParser):
    """The text a person sees (no script/style/title attributes), and every <time> element."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.times: list[tuple[dict, str]] = []
        self._skip = 0
        self._time: dict | None = None
        self._time_text = ""

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template", "textarea", "select", "option", "code"):
            self._skip += 1
        if tag == "time":
            self._time, self._time_text = dict(attrs), ""

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template", "textarea", "select", "option", "code"):
            self._skip = max(0, self._skip - 1)
        if tag == "time" and self._time is not None:
            self.times.append((self._time, self._time_text))
            self._time = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._time is not None:
            self._time_text += data
            self.parts.append("\u2063")  # a <time> is checked on its own
            return
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(self.parts)


def visible(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser


@pytest.fixture
def world(program, admin_user):
    """A program with something on every page."""
    row = Program.objects.get(pk=program.pk)
    row.time_zone = "Europe/Budapest"
    # every module on: their pages answer 404 while their module is off
    row.segments = row.loyalty_cards = row.referrals = row.budgets = row.achievements = row.workflows = True
    row.multi_accounts = True
    row.save()
    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="silver", name="Silver", threshold=0)
    Tier.objects.create(structure=structure, code="gold", name="Gold", threshold=100)
    CustomField.objects.create(name="shoe_size", label="Shoe size (EU)", type="number")
    CustomField.objects.create(name="loyalty_barcode", label="Loyalty barcode", type="string")
    Label.objects.create(name="vip")
    register_event(
        environment="live",
        customer="anna-1",
        action="opt_in",
        data={
            "first_name": "Anna",
            "last_name": "Smith",
            "email": "anna@example.com",
            "birth_date": "1985-11-18",
            "shoe_size": 38,
            "loyalty_barcode": "B-1",
        },
    )
    register_event(environment="live", customer="anna-1", action="point_add", data={"points": 12345})
    register_event(
        environment="live",
        customer="anna-1",
        action="checkout",
        data={"transaction_id": "T-1", "total": 1234.5, "items": [item("P-1", 1000), item("P-2", 234.5)]},
    )
    register_change(
        user=admin_user,
        customer=register_event(environment="live", customer="anna-1", action="profile", data={}).customer,
        action="profile",
        data={"first_name": "Anne", "labels": ["vip"]},
        reason="typo",
        before={"first_name": "Anna", "labels": []},
        after={"first_name": "Anne", "labels": ["vip"]},
    )
    register_event(environment="live", customer="bob-2", action="opt_in", data={"first_name": "Bob"})
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10)
    import_codes(pool, "AAA-1\nBBB-2\n")
    register_event(environment="live", customer="anna-1", action="coupon_assign", data={"code": "AAA-1"})
    Reward.objects.create(name="Mug", points=100, account=default_account(), gives="coupon", pool=pool)
    return {
        "ref": "anna-1",
        "checkout": Event.objects.get(action="checkout", customer__customer_id="anna-1"),
        "transaction": Transaction.objects.get(transaction_id="T-1"),
        "pool": pool,
        "structure": structure,
    }


def console_pages(world) -> list[str]:
    """Every console URL a GET opens, with its arguments filled from `world`."""
    args_for = {
        "ref": world["ref"],
        "event_id": world["checkout"].pk,
        "code": "AAA-1",
    }
    pks = {
        "transactions:transaction_detail": world["transaction"].pk,
        "coupons:pool_edit": world["pool"].pk,
        "coupons:pool_codes": world["pool"].pk,
        "settings:tier_structure_edit": world["structure"].pk,
        "customers:custom_field_edit": CustomField.objects.first().pk,
        "customers:label_customers": Label.objects.first().pk,
        "customers:label_edit": Label.objects.first().pk,
        "coupons:reward_edit": Reward.objects.first().pk,
        "settings:account_edit": default_account().pk,
    }
    skip = (
        *("api", "logout", "switch_environment", "healthz", "login"),
        "segments:segment_preview",  # POST only (the editor's live count)
        "workflows:node_form",  # an HTML fragment the workflow editor loads, not a page
        # take a card code; the world's customer holds no card
        *("cards:customer_card_unregister", "cards:customer_card_transfer", "cards:customer_card_status"),
    )
    urls = []

    def walk(resolver, namespace=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}{pattern.name}"
                if name.split(":")[0] in skip or name in skip:
                    continue
                params = list(pattern.pattern.converters)
                kwargs = {}
                for param in params:
                    if param not in args_for and param != "pk":
                        break  # a public page with a token (password reset): not a console page
                    if param == "pk":
                        if name not in pks:
                            break
                        kwargs["pk"] = pks[name]
                    else:
                        kwargs[param] = args_for[param]
                else:
                    urls.append(reverse(name, kwargs=kwargs))

    walk(get_resolver())
    return urls


def test_formats_of_the_issue_examples(program):
    """The five formats of the issue become one: dates ISO, date-times ISO with minutes, in the
    program's zone; numbers grouped; amounts with the currency."""
    row = Program.objects.get(pk=program.pk)
    row.time_zone = "Europe/Budapest"
    row.base_currency = "HUF"
    row.save()
    assert formatting.date_text(dt.date(1985, 11, 18)) == "1985-11-18"
    moment = dt.datetime(2026, 11, 29, 7, 40, 12, tzinfo=dt.UTC)
    assert formatting.datetime_text(moment) == "2026-11-29 08:40"  # Budapest is UTC+1 in winter
    assert formatting.full_text(moment) == "2026-11-29 08:40:12 CET (UTC+0100)"
    assert formatting.date_text(dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC)) == "2026-11-29"
    assert formatting.number_text(8772) == "8,772" and formatting.number_text(-1250) == "-1,250"
    assert formatting.number_text(Decimal("1234.5")) == "1,234.5"
    assert formatting.money_text(Decimal("1234.5")) == "1,234.50 HUF"
    assert formatting.money_text(10, "EUR") == "10.00 EUR"
    assert formatting.plain({"first_name": "Anna", "labels": ["vip", "press"]}) == (
        "First name: Anna; Labels: vip, press"
    )
    assert formatting.plain([]) == "—" and formatting.plain(None) == "—" and formatting.plain(True) == "yes"
    assert formatting.changes({"first_name": "Anna"}, {"first_name": "Anne", "city": "Pécs"}) == [
        {"key": "first_name", "label": "First name", "before": "Anna", "after": "Anne"},
        {"key": "city", "label": "City", "before": "—", "after": "Pécs"},
    ]
    headers, rows = formatting.table([{"product_id": "P-1", "quantity": 2}, {"product_id": "P-2"}])
    assert headers == ["Product id", "Quantity"] and rows == [["P-1", "2"], ["P-2", "—"]]


def test_every_console_page_has_one_look(admin_client, world):
    urls = console_pages(world)
    assert len(urls) >= 40, urls  # the walk really reaches the console
    checked_dates = 0
    problems = []
    for url in urls:
        response = admin_client.get(url, follow=True)
        assert response.status_code == 200, (url, response.status_code)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        page = visible(response.content.decode())
        text = page.text
        if match := ANY_DATE.search(text):
            problems.append((url, "date outside <time>", match.group(0)))
        if match := RAW_STRUCTURE.search(text):
            problems.append((url, "raw structure", text[max(0, match.start() - 60) : match.end() + 60]))
        if "Times in Europe/Budapest" not in text:
            problems.append((url, "time zone not stated", ""))
        for attrs, shown in page.times:
            if not ONE_FORMAT.match(shown.strip()) or not attrs.get("title") or not attrs.get("datetime"):
                problems.append((url, "time element", shown))
            checked_dates += 1
    assert problems == [], "\n".join(map(str, problems))
    assert checked_dates > 20


def test_changes_tab_shows_before_and_after_by_label(admin_client, world):
    html = admin_client.get(reverse("customers:customer_changes", kwargs={"ref": "anna-1"})).content.decode()
    text = visible(html).text
    assert "First name" in text and "Anna" in text and "Anne" in text and "→" in text
    assert "'first_name'" not in html and "first_name" not in text


def test_checkout_items_are_a_table_on_event_details(admin_client, world):
    url = reverse(
        "customers:customer_event_detail", kwargs={"ref": "anna-1", "event_id": world["checkout"].pk}
    )
    html = admin_client.get(url).content.decode()
    assert 'data-testid="attribute-table-items"' in html
    table = html.split('data-testid="attribute-table-items"', 1)[1].split("</table>", 1)[0]
    assert ">Product id<" in table and ">P-1<" in table and ">P-2<" in table and ">1,000<" in table


def test_profile_shows_custom_field_labels_and_grouped_points(admin_client, world):
    html = admin_client.get(reverse("customers:customer_overview", kwargs={"ref": "anna-1"})).content.decode()
    text = visible(html).text
    assert "Shoe size (EU)" in text and "Loyalty barcode" in text
    assert "loyalty_barcode" not in text and "shoe_size" not in text
    assert "1985-11-18" in html and "Nov. 18, 1985" not in text


def test_saved_message_names_fields_by_label(admin_client, world):
    url = reverse("customers:customer_personal", kwargs={"ref": "anna-1"})
    form = admin_client.get(url).context["form"]
    data = {
        name: ("" if value is None else value) for name, value in form.initial.items() if name != "labels"
    }
    data.update({"custom_shoe_size": "39", "first_name": "Annie", "reason": "asked"})
    response = admin_client.post(url, data, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any("Shoe size (EU)" in m and "First name" in m for m in messages), messages
    assert not any("shoe_size" in m or "first_name" in m for m in messages)


def test_the_login_page_says_how_to_log_in_on_a_demo_install(client, db):
    from django.contrib.auth.models import User
    from django.core.cache import cache

    assert b'data-testid="demo-hint"' not in client.get(reverse("login")).content
    user = User.objects.create_user("admin", password="admin")
    cache.clear()
    html = client.get(reverse("login")).content.decode()
    assert 'data-testid="demo-hint"' in html and "admin / admin" in html
    user.set_password("a-real-password-now")
    user.save()
    cache.clear()
    assert b'data-testid="demo-hint"' not in client.get(reverse("login")).content


def test_every_page_has_a_favicon(client, db):
    from django.contrib.staticfiles import finders

    html = client.get(reverse("login")).content.decode()
    assert 'rel="icon"' in html and finders.find("favicon.svg")
