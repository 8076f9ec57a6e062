"""The side menu highlights the one item a page belongs to: on every console page (the URLconf
walk) at most one item, and the right one for the pages that used to light two or the wrong one."""

import re

import pytest
from django.urls import reverse

from loyalty.console.navigation import active_url

from .console_access import ACCESS, console_urls
from .test_console_urls import url_kwargs, world  # noqa: F401  (the world fixture)

MENU = [
    "/",
    "/customers/",
    "/labels/",
    "/events/definitions/",
    "/coupons/",
    "/coupons/rewards/",
    "/settings/",
]


@pytest.mark.parametrize(
    "path,expected",
    [
        ("/", "/"),
        ("/coupons/rewards/", "/coupons/rewards/"),  # not Coupons too
        ("/coupons/rewards/3/edit/", "/coupons/rewards/"),
        ("/coupons/pools/1/", "/coupons/"),
        ("/customers/Anna-1/coupons/", "/customers/"),
        ("/customers/Anna-1/transactions/", "/customers/"),
        ("/events/definitions/new/", "/events/definitions/"),
        ("/events/12/", "/events/definitions/"),  # same section
        ("/sandbox/clock/", None),  # no item; not the dashboard
    ],
)
def test_the_active_item_is_the_longest_matching_one(path, expected):
    assert active_url(path, MENU) == expected


def highlighted(html: str) -> list[str]:
    if 'data-testid="sidenav"' not in html:
        return []  # a fragment (htmx partial, the editor's node form) has no side menu
    nav = html.split('data-testid="sidenav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)" class="active" aria-current="page">', nav)


def test_every_console_page_highlights_at_most_one_item(admin_client, world):  # noqa: F811
    checked = 0
    for console_url in console_urls():
        if ACCESS[console_url.name].status != 200 or "administrator" not in ACCESS[console_url.name].roles:
            continue
        url = reverse(console_url.name, kwargs=url_kwargs(console_url, world))
        response = admin_client.get(url)
        if response.status_code != 200 or "text/html" not in response["Content-Type"]:
            continue
        items = highlighted(response.content.decode())
        assert len(items) <= 1, f"{url}: {items}"
        checked += 1
    assert checked > 50


@pytest.mark.parametrize(
    "url_name,kwargs,item",
    [
        ("coupons:reward_list", {}, "/coupons/rewards/"),
        ("coupons:customer_coupons", {"ref": "Anna-1"}, "/customers/"),
        ("transactions:customer_transactions", {"ref": "Anna-1"}, "/customers/"),
        ("home", {}, "/"),
    ],
)
def test_the_examples_highlight_their_item(admin_client, world, url_name, kwargs, item):  # noqa: F811
    assert highlighted(admin_client.get(reverse(url_name, kwargs=kwargs)).content.decode()) == [item]
