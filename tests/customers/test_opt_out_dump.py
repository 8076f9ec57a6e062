"""Issue 14 §2: after opt-out, a dump of the whole database holds none of the customer's personal
values — current or earlier, in any column (text, JSON, binary), in any table.

The scenario of the issue, through the API and the console as a shop and an agent would do it:
a guest checkout under the customer's e-mail (with IP address and user agent), opt_in and
point_add with Idempotency-Keys, a checkout whose transaction_id is `order-<email>` with an item
named "Gift for <first> <last>" and a coupon redeemed on it, a duplicate profile merged in with
reason "dup of <email>", the first name edited in the console with a reason naming the old one,
then opt_out. The dump is `pg_dump` of the test database on PostgreSQL (the data committed:
transactional test) and `iterdump()` on SQLite; values are searched as text, case-insensitively,
and hex-encoded (bytea / blob columns).
"""

from __future__ import annotations

import os
import subprocess

import pytest
from django.db import connection
from django.urls import reverse

from coupons.models import CouponPool
from coupons.pools import import_codes
from customers.models import Customer, CustomField
from events.models import EventAttribute, EventDefinition
from loyalty.audit.models import ChangeRequest
from loyalty.models import Program
from tests.api.conftest import ApiClient
from tests.conftest import make_user

EMAIL = "zelda.quistgaard@example.org"
OLD_FIRST = "Zeldaria"
FIRST = "Zelinda"
LAST = "Quistgaard"
VALUES = {
    "customer_id": "zq-member-7781",
    "email": EMAIL,
    "first_name": OLD_FIRST,
    "last_name": LAST,
    "nickname": "Zquistie",
    "phone": "+36-30-777-1234",
    "mobile_phone": "+36-70-555-9876",
    "address": "Kossuth Lajos utca 99",
    "city": "Hodmezovasarhely",
    "zip": "6800-ZQ",
    "image_url": "https://img.example.org/zquist-avatar.png",
    "barcode": "ZQ-BARCODE-991",
    "pet_name": "Mittens-the-Great",
    "user_agent": "ZeldaPhone/1.0 (QuistOS)",
}
DUPLICATE = {"customer_id": "zq-dup-1", "email": "zq.second.address@example.net", "nickname": "Zqdupnick"}


def dump() -> str:
    """The whole database as text, plus what is stored encoded (signed, compressed or pickled):
    the console sessions and the django-q2 queue, decoded."""
    return _raw_dump() + "\n" + decoded_sessions_and_queue()


def decoded_sessions_and_queue() -> str:
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django_q.models import OrmQ, Schedule, Task
    from django_q.signing import SignedPackage

    parts = [repr(SessionStore().decode(s.session_data)) for s in Session.objects.all()]
    parts += [repr(SignedPackage.loads(row.payload)) for row in OrmQ.objects.all()]
    parts += [repr((t.name, t.args, t.kwargs, t.result)) for t in Task.objects.all()]
    parts += [repr((s.name, s.args, s.kwargs)) for s in Schedule.objects.all()]
    return "\n".join(parts)


def _raw_dump() -> str:
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
        command = ["pg_dump", "--no-owner", "-h", settings.get("HOST") or "127.0.0.1"]
        command += ["-p", str(settings.get("PORT") or 5432), "-U", settings.get("USER") or "postgres"]
        command.append(settings["NAME"])
        return subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    return "\n".join(connection.connection.iterdump())


def found_in(text: str, value: str) -> list[str]:
    lowered = text.lower()
    hits = []
    for variant in {value, value.lower()}:
        if variant.lower() in lowered:
            hits.append("text")
        if variant.encode().hex() in lowered:
            hits.append("hex")
    return hits


@pytest.fixture
def scenario(transactional_db, client):
    from loyalty.api.keys import create_api_key
    from loyalty.roles import sync_roles

    sync_roles()
    CustomField.objects.create(name="barcode", label="Barcode", external_id=True)
    CustomField.objects.create(name="pet_name", label="Pet")
    definition = EventDefinition.objects.create(action="store_visit", label="Store visit")
    EventAttribute.objects.create(definition=definition, name="note", type="string")
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10)
    import_codes(pool, "ZQ-COUPON-1\n")
    api_key, secret = create_api_key(name="shop", environment="live")
    api = ApiClient(client, api_key, secret)
    ua = {"User-Agent": VALUES["user_agent"]}

    def post(body, key=None):
        headers = {**ua, **({"Idempotency-Key": key} if key else {})}
        response = api.post("/api/events", json=body, headers=headers)
        assert response.status_code == 200, response.content
        return response

    cid = VALUES["customer_id"]
    post(
        {
            "action": "checkout",
            "data": {
                "guest": EMAIL,
                "transaction_id": f"guest-{EMAIL}",
                "total": "30",
                "items": [{"product_id": "P-1", "product_name": f"Card for {OLD_FIRST}", "subtotal": "30"}],
            },
        }
    )
    profile = {k: VALUES[k] for k in VALUES if k not in ("customer_id", "user_agent")}
    post({"customer": cid, "action": "opt_in", "data": profile}, key=f"optin-{EMAIL}")
    post(
        {"customer": cid, "action": "point_add", "data": {"points": 500, "reason": f"welcome {LAST}"}},
        key="points-1",
    )
    post(
        {
            "customer": cid,
            "action": "store_visit",
            "data": {"note": f"{OLD_FIRST} called from {VALUES['phone']}"},
        }
    )
    post({"customer": cid, "action": "coupon_assign", "data": {"code": "ZQ-COUPON-1"}})
    post(
        {
            "customer": cid,
            "action": "checkout",
            "data": {
                "transaction_id": f"order-{EMAIL}",
                "total": "100",
                "items": [
                    {"product_id": "P-2", "product_name": f"Gift for {OLD_FIRST} {LAST}", "subtotal": "100"}
                ],
            },
        },
        key=f"order-{EMAIL}",
    )
    post(
        {
            "customer": cid,
            "action": "coupon_redeem",
            "data": {"code": "ZQ-COUPON-1", "transaction_id": f"order-{EMAIL}"},
        }
    )
    # The Async Events API: a correlation ID naming the customer, the payload, the stored response.
    response = api.post(
        "/api/v1/async/events",
        json={
            "customer": cid,
            "action": "point_add",
            "data": {"points": 5, "reason": f"async for {EMAIL}"},
            "correlation_id": f"async-{EMAIL}",
        },
        headers=ua,
    )
    assert response.status_code == 200, response.content
    # A task still waiting in the django-q2 queue (e.g. a notification) with personal arguments.
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    get_broker().enqueue(
        SignedPackage.dumps(
            {"id": "t-1", "name": "notify", "func": "print", "args": (EMAIL,), "kwargs": {"name": OLD_FIRST}}
        )
    )
    duplicate = {k: v for k, v in DUPLICATE.items() if k != "customer_id"}
    post({"customer": DUPLICATE["customer_id"], "action": "opt_in", "data": duplicate})

    admin = make_user("admin-zq", "administrator")
    client.force_login(admin)
    merge = reverse("customers:customer_merge", kwargs={"ref": cid})
    response = client.post(
        merge,
        {
            "source": DUPLICATE["customer_id"],
            "mode": "full",
            "reason": f"dup of {EMAIL}",
            "confirmed": "True",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    personal = reverse("customers:customer_personal", kwargs={"ref": cid})
    form = {k: v for k, v in profile.items() if k not in ("barcode", "pet_name")}
    form.update(
        first_name=FIRST,
        custom_barcode=VALUES["barcode"],
        custom_pet_name=VALUES["pet_name"],
        reason=f"{OLD_FIRST} asked to be called {FIRST}",
    )
    response = client.post(personal, form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Customer.objects.get(customer_id=cid).first_name == FIRST
    # An approval request (content approval) whose reason names the customer.
    program = Program.current()
    program.content_approval = True
    program.save()
    agent = make_user("agent-zq", "support agent")
    client.force_login(agent)
    response = client.post(
        reverse("customers:customer_manage_points", kwargs={"ref": cid}),
        {"operation": "point_add", "points": 5, "reason": f"{OLD_FIRST} {LAST} phoned ({EMAIL})"},
    )
    assert response.status_code == 302 and ChangeRequest.objects.exists()
    # A flash message naming the customer, waiting in the agent's session for the next page.
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore(session_key=client.session.session_key)
    session["_messages"] = f'[["__json_message",0,25,"Points requested for {OLD_FIRST} {LAST} ({EMAIL})"]]'
    session.save()
    return post


def planted() -> dict[str, str]:
    values = {**VALUES, "first_name (new)": FIRST}
    values.update({f"duplicate {k}": v for k, v in DUPLICATE.items()})
    return values


def test_the_scenario_plants_every_value_in_the_dump(scenario):
    text = dump()
    missing = [name for name, value in planted().items() if not found_in(text, value)]
    assert missing == []


def test_opt_out_leaves_nothing_in_a_dump_of_the_whole_database(scenario):
    scenario(
        {"customer": VALUES["customer_id"], "action": "opt_out", "data": {"reason": f"{FIRST} left"}},
        key=f"optout-{EMAIL}",
    )
    text = dump()
    left = {name: found_in(text, value) for name, value in planted().items()}
    assert {name: where for name, where in left.items() if where} == {}
    # What is kept: the figures.
    row = Customer.objects.get(merged_into__isnull=True, status="opted_out")
    assert row.customer_id.startswith("anon-") and row.purchase_total > 0


def test_a_missing_scrubber_is_an_error_at_startup(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from customers import hooks as privacy

    privacy.check_hooks()  # the shipped list resolves
    monkeypatch.setattr(
        privacy, "PERSONAL_DATA_SCRUBBERS", [*privacy.PERSONAL_DATA_SCRUBBERS, "nope.privacy.scrub"]
    )
    with pytest.raises(ImproperlyConfigured, match="nope.privacy"):
        privacy.check_hooks()
    monkeypatch.setattr(privacy, "PERSONAL_DATA_SCRUBBERS", ["transactions.privacy.no_such_function"])
    with pytest.raises(ImproperlyConfigured):
        privacy.check_hooks()
