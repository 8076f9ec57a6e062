"""A walk over the console's URLconf: every console URL has a role-access test, and every menu entry,
settings section, profile tab, profile action and list button names a URL that exists.

The access table is tests/structure/console_access.py; this file only walks and checks, so renaming
or adding a URL touches the table alone.
"""

from __future__ import annotations

import pytest
from django.urls import resolve, reverse

from achievements.models import Achievement
from budgets.models import Budget
from coupons.pools import import_codes
from customers.tabs import CUSTOMER_TABS, PROFILE_ACTIONS
from dataio.models import DataExport, DataImport, Job
from events.models import Event
from loyalty import clock
from loyalty.api.console_views import ApiKeyListView
from loyalty.console.navigation import NAVIGATION
from loyalty.console.views import ObjectListView
from loyalty.models import Program
from loyalty.program_settings.views import SECTIONS
from segments.models import BulkOperation, CustomerList, Segment
from tests import factories
from tests.factories import register
from transactions.models import Transaction
from webhooks.models import Delivery, IncomingEndpoint, Subscription, TrustedSite

from .console_access import ACCESS, PUBLIC, PUBLIC_KWARGS, console_urls
from .workflow_world import workflow_world


@pytest.fixture
def world(program, anna):
    """One object of each kind a console URL can name: Anna-1 with points, an event, a coupon, an
    accepted and a pending transaction, and the configuration rows (factories)."""
    register("point_add", "Anna-1", {"points": 500})
    pool = factories.CouponPoolFactory()
    import_codes(pool, "WALK-1\nWALK-2\n")
    register("coupon_assign", "Anna-1", {"code": "WALK-1"})
    register("checkout", "Anna-1", {"transaction_id": "T-1", "total": 100})
    row = Program.objects.get(pk=program.pk)
    row.checkout_accept = True
    row.segments = True
    # issue 20's modules, so that their pages answer by permission
    row.loyalty_cards = row.referrals = row.budgets = row.achievements = row.multi_accounts = True
    row.workflows = True
    row.webhooks = row.incoming_webhooks = row.sync = True
    row.save()
    register("checkout", "Anna-1", {"transaction_id": "T-2", "total": 50})
    customer_list = CustomerList.objects.create(name="L")
    structure = factories.TierStructureFactory()
    factories.TierFactory(structure=structure, code="bronze", threshold=0)
    factories.TierFactory(structure=structure, code="silver", threshold=1000)
    return {
        "customer": anna,
        "coupon": anna.coupons.get(code="WALK-1"),
        "event": Event.objects.filter(customer=anna).order_by("pk").first(),
        "transaction": Transaction.objects.get(transaction_id="T-1"),
        "pending_transaction": Transaction.objects.get(transaction_id="T-2"),
        "pool": pool,
        "reward": factories.RewardFactory(),
        "account": factories.PointAccountFactory(),
        "tier_structure": structure,
        "custom_field": factories.CustomFieldFactory(),
        "label": factories.LabelFactory(),
        "earning_rule": factories.EarningRuleFactory(),
        "definition": factories.EventDefinitionFactory(),
        "api_key": factories.ApiKeyFactory(),
        "change_request": factories.ChangeRequestFactory(customer=anna),
        "segment": Segment.objects.create(name="S", conditions={"match": "all", "conditions": []}),
        "customer_list": customer_list,
        "bulk": BulkOperation.objects.create(
            type="customer_add", customer_list=customer_list, customers=["x"]
        ),
        "budget": Budget.objects.create(campaign="Walk", action="points_awarded", limit=10),
        "achievement": Achievement.objects.create(api_name="walk", title="Walk", action="login", target=2),
        **workflow_world(anna),
        **dataio_world(),
        **_webhook_world(anna),
    }


def _webhook_world(anna) -> dict:
    site = TrustedSite.objects.create(name="Walk", url="https://walk.example/")
    endpoint = IncomingEndpoint.objects.create(name="walk", action="login", customer_expression="body.id")
    return {
        "trusted_site": site,
        "subscription": Subscription.objects.create(name="Walk", site=site, actions=["login"]),
        "delivery": Delivery.objects.create(
            site=site, source="resync", customer=anna, msg_id="msg_walk", created_at=anna.created_at
        ),
        "incoming_endpoint": endpoint,
    }


def dataio_world() -> dict:
    """An import (uploaded), an export (pending) and a job, for the dataio pages."""
    now = clock.now()
    data_import = DataImport.objects.create(
        model="customers",
        environment="live",
        file="imports/x.csv",
        file_name="x.csv",
        format="csv",
        columns=["customer_id"],
        mapping={"customer_id": "customer_id"},
        created_at=now,
    )
    job = Job.objects.create(kind="import", key=f"import:{data_import.pk}", created_at=now)
    export = DataExport.objects.create(model="customers", environment="live", created_at=now)
    return {"data_import": data_import, "export": export, "job": job}


def url_kwargs(console_url, world) -> dict:
    """Fill a URL's parameters from the world, by parameter name (pk: the table's `obj`)."""
    kwargs = {}
    for name in console_url.kwargs:
        if name == "ref":
            kwargs[name] = world["customer"].customer_id
        elif name == "code":
            kwargs[name] = world["coupon"].code
        elif name == "event_id":
            kwargs[name] = world["event"].pk
        elif name == "customer_pk":
            kwargs[name] = world["customer"].pk
        elif name == "batch_id":
            kwargs[name] = world["bulk"].batch_id
        elif name == "action":
            kwargs[name] = "rebuild" if console_url.name == "segments:segment_action" else "inactivate"
        elif name == "pk":
            obj = ACCESS[console_url.name].obj
            assert obj in world, f"{console_url.name}: set Access(obj=...) to one of {sorted(world)}"
            kwargs[name] = world[obj].pk
        else:
            pytest.fail(f"{console_url.name}: no value for <{name}>; teach url_kwargs() about it")
    return kwargs


def test_every_console_url_has_a_row_in_the_access_table():
    walked = {u.name for u in console_urls()}
    missing = sorted(walked - set(ACCESS))
    assert not missing, f"console URLs without a role-access row in console_access.ACCESS: {missing}"
    stale = sorted(set(ACCESS) - walked)
    assert not stale, f"ACCESS rows naming no console URL: {stale}"


def test_the_walk_finds_the_console_and_leaves_out_the_api_and_public_pages():
    walked = {u.name: u for u in console_urls()}
    assert "customers:customer_overview" in walked and "settings:program" in walked
    assert not [name for name in walked if name.startswith("api:")]
    assert not PUBLIC & set(walked)
    for name in PUBLIC:
        reverse(name, kwargs=PUBLIC_KWARGS.get(name))  # each still exists
    assert walked["customers:customer_overview"].kwargs == ["ref"]


@pytest.mark.parametrize("name", sorted(ACCESS))
def test_each_role_gets_what_the_access_table_says(client, cast, world, name):
    found = [u for u in console_urls() if u.name == name]
    assert found, f"{name} is in ACCESS but not in the URLconf"
    console_url = found[0]
    access = ACCESS[name]
    assert set(access.roles) <= set(cast), f"{name}: unknown roles {set(access.roles) - set(cast)}"
    url = reverse(console_url.name, kwargs=url_kwargs(console_url, world))

    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login")), (
        f"anonymous GET {url}: {response.status_code}"
    )
    got = {}
    for role, user in cast.items():
        client.force_login(user)
        got[role] = client.get(url).status_code
        client.logout()
    expected = {role: access.status if role in access.roles else access.denied for role in cast}
    assert got == expected, f"GET {url}"


# Every place that names a console URL must name one that exists ---------------------------------


@pytest.mark.parametrize("item", NAVIGATION, ids=lambda item: item.label)
def test_each_navigation_entry_resolves(item):
    assert reverse(item.url_name)


@pytest.mark.parametrize("section", SECTIONS, ids=[section[0] for section in SECTIONS])
def test_each_settings_section_resolves(section):
    assert reverse(section[1])


@pytest.mark.parametrize("modules_on", [True, False])
def test_every_settings_section_shows_for_an_administrator(admin_client, modules_on):
    """Every section shows; one of a switchable module only while the module is on (its pages
    answer 404 when it is off, so the menu must not link there)."""
    program = Program.objects.get(pk=Program.current().pk)
    for *_rest, module in SECTIONS:
        if module:
            setattr(program, module, modules_on)
    program.save()
    html = admin_client.get(reverse("settings:program")).content.decode()
    for label, url_name, _permission, module in SECTIONS:
        shown = f'href="{reverse(url_name)}"' in html
        assert shown == (modules_on or module is None), f"Settings section {label!r}: shown={shown}"
        if shown:
            assert admin_client.get(reverse(url_name)).status_code == 200, label


def test_the_api_keys_entry_shows_in_settings_for_administrators(admin_client):
    """It named `api:key_list`, which does not exist, so it silently never showed (issue 12)."""
    url = reverse({label: url_name for label, url_name, *_ in SECTIONS}["API keys"])
    assert resolve(url).func.view_class is ApiKeyListView
    html = admin_client.get(reverse("settings:program")).content.decode()
    assert f'href="{url}"' in html


@pytest.mark.parametrize(
    "url_name",
    [tab.url_name for tab in CUSTOMER_TABS] + [action.url_name for action in PROFILE_ACTIONS],
)
def test_each_profile_tab_and_action_resolves(url_name):
    assert reverse(url_name, kwargs={"ref": "Anna-1"}).startswith("/")


def test_each_list_page_button_resolves():
    """The buttons above a list (ObjectListView.actions) name URLs that exist."""
    checked = 0
    for console_url in console_urls():
        view = console_url.view_class
        if view and issubclass(view, ObjectListView):
            for label, url_name, *_permission in view.actions:
                assert reverse(url_name), f"{console_url.name}: button {label!r}"
                checked += 1
    assert checked >= 5
