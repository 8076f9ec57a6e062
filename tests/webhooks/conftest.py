import pytest

from loyalty.models import Program
from webhooks import secrets
from webhooks.models import Subscription, TrustedSite

from .receiver import Receiver


@pytest.fixture
def modules(program):
    """The Webhooks, Incoming webhooks and Sync modules on."""
    row = Program.objects.get(pk=program.pk)
    row.webhooks = row.incoming_webhooks = row.sync = True
    row.save()
    return row


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


def make_site(
    url,
    *,
    name="CRM",
    auth="standard_webhooks",
    secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    **fields,
):
    site = TrustedSite(
        name=name, url=url, auth_method=auth, timeout_seconds=fields.pop("timeout_seconds", 5), **fields
    )
    if secret:
        site.secret_encrypted = secrets.encrypt(secret)
        site.secret_hint = secrets.hint(secret)
    site.save()
    return site


def subscribe(site, actions=("point_add",), **fields):
    return Subscription.objects.create(
        name=fields.pop("name", f"sub-{site.name}"), site=site, actions=list(actions), **fields
    )


@pytest.fixture
def site(modules, receiver):
    return make_site(receiver.url + "/hooks")


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run a block and its on-commit callbacks (dispatch), as a committed request would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
