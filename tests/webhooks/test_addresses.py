"""SSRF: private, loopback, link-local and reserved addresses are refused unless allowed in
settings (the tests allow 127.0.0.0/8 by default; here they allow nothing)."""

import pytest

from webhooks import addresses, delivery, sending
from webhooks.choices import DeliveryStatus
from webhooks.forms import TrustedSiteForm

from .conftest import make_site

REFUSED = [
    "http://127.0.0.1/x",
    "http://localhost:8000/x",
    "http://10.0.0.8/",
    "http://192.168.1.1/",
    "http://172.16.5.4/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
]


@pytest.fixture
def nothing_allowed(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_reserved_addresses_are_refused(nothing_allowed, url):
    with pytest.raises(addresses.AddressRefused):
        addresses.check_url(url)


def test_a_public_address_passes():
    addresses.check_url("http://93.184.215.14/hook")


@pytest.mark.parametrize(
    "url", ["ftp://93.184.215.14/", "file:///etc/passwd", "http://user:pw@93.184.215.14/"]
)
def test_other_schemes_and_credentials_in_the_url_are_refused(url):
    with pytest.raises(addresses.AddressRefused):
        addresses.check_url(url)


def test_an_allowed_network_opens_exactly_that_network(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.1.2.0/24"]
    addresses.check_url("http://10.1.2.3/")
    with pytest.raises(addresses.AddressRefused):
        addresses.check_url("http://10.1.3.3/")


def test_the_site_form_refuses_a_private_url(nothing_allowed, modules):
    form = TrustedSiteForm(
        data={
            "name": "x",
            "url": "http://127.0.0.1:9/",
            "content_type": "application/json",
            "auth_method": "none",
            "jwt_algorithm": "HS256",
            "jwt_claims": "{}",
            "timeout_seconds": 5,
            "max_concurrency": 2,
        }
    )
    assert not form.is_valid()
    assert "private or reserved" in form.errors["url"][0]


def test_a_site_saved_while_allowed_is_still_refused_at_send_time(modules, receiver, settings, sent):
    site = make_site(receiver.url)
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    row = sent(delivery.enqueue_message, site, "", "{}")
    row.refresh_from_db()
    assert row.status == DeliveryStatus.RETRYING and "private or reserved" in row.last_error
    assert receiver.requests == []


def test_the_post_helper_refuses_before_connecting(nothing_allowed, receiver):
    result = sending.post(receiver.url, "{}", {}, 2)
    assert result.status_code is None and "private or reserved" in result.error
    assert receiver.requests == []
