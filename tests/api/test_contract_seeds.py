"""Issue 15 §4: the contract test. Every request example of 001 ("Customers") and 002 ("Actions and
Events") is replayed, signed with escherauth like an integrator's client, with only the
page-rendering artefacts repaired (missing braces, the obfuscated "[email protected]" addresses,
the trailing comma, `"first_name", "Test"`, the elided `...` data); each response's field names
and JSON types are checked against the reference's: 001's example objects where it shows one,
reference-behaviour.md §8.3 for the Events API answer."""

from __future__ import annotations

import pytest

from customers.models import CustomField
from events.engine import register_event
from loyalty.models import PointAccount, Program, Tier, TierStructure

pytestmark = pytest.mark.django_db

# --- the reference's shapes -----------------------------------------------------------------

# 001, "Customer API": the example response (image_url repaired from its rendered link).
CUSTOMER_API_EXAMPLE = {
    "first_name": "John",
    "last_name": "Smith",
    "nickname": "Johnny",
    "email": "john@example.com",
    "birth_date": "1969-12-25",
    "gender": "Male",
    "language": "en",
    "currency": "GBP",
    "status": "Active",
    "score": 100,
    "spent": 20,
    "reserved": 0,
    "spendable": 50,
    "pending": 20,
    "image_url": "http://example.com/image.png",
    "optin_at": 1577836800,
    "last_login_at": 1593561600,
    "updated_at": 1593561623,
    "purchase_total": 100,
    "purchase_count": 2,
    "purchase_last_date": "2020-10-01",
    "mobile_phone": "123-456-789",
    "accounts": [
        {
            "id": "main_account",
            "name": "Main account",
            "earned": 12705,
            "spent": 1056,
            "pending": 0,
            "reserved": 0,
            "expired": 0,
            "spendable": 11649,
            "burn_rates": [{"amount": 100, "points": 200, "currency": "GBP"}],
        }
    ],
    "tiers": [
        {
            "id": "T0",
            "name": "T0",
            "since": "2022-05-02T12:57:41+02:00",
            "threshold": 0,
            "expdate": "2023-01-11T00:00:00+01:00",
            "points": 100,
            "points_after_expiration": 10,
            "structure": [{"id": "basic_tiers", "name": "Basic tiers"}],
        }
    ],
    "referrer": None,
    "referrals": 2,
}

# reference-behaviour.md §8.3: the Events API answer (customer object + events[]).
EVENTS_API_ANSWER = {
    "id": "x",
    "created_at": 0,
    "handler": "",
    "status": "Active",
    "score": 0,
    "spent": 0,
    "pending": 0,
    "language": "",
    "currency": "",
    "first_name": "",
    "last_name": "",
    "email": "",
    "events": [
        {"id": 1, "action": "x", "points": 0, "expdate": "2020-01-01", "account": {"id": "x", "name": "x"}}
    ],
}

# 001, data extensions
PURCHASES_MTD = {
    "overall": {"total": 4000, "count": 7, "items": 14},
    "mtd": {"total": 1700, "count": 3, "items": 6},
}
PURCHASES_HISTORY = {
    "overall": {"count": 4, "items": 2, "total": 322},
    "history": {"*": {"count": 1, "items": 1, "total": 10}},  # keyed by date: "*" stands for every key
}
EXPIRING = {
    "today": 0,
    "this_month": 0,
    "this_year": 123,
    "next_month": 123,
    "next_year": 0,
    "reset_date": "2022-12-25",
}
EXPIRING_HISTORY = {**EXPIRING, "history": [{"date": "2022-10-07", "points": 50}]}
ACCOUNT_WITH_EXPIRING = {
    "id": "points",
    "name": "Points",
    "earned": 2100,
    "spent": 0,
    "pending": 0,
    "reserved": 0,
    "expired": 0,
    "spendable": 2100,
    "burn_rates": [
        {"amount": 1, "points": 100, "currency": "USD", "converted_amount": 21, "unconverted_points": 0}
    ],
    "expiring_points": EXPIRING,
}
BULK_ANSWER = {"results": [{"events": []}], "total": 3, "errors": 0}


def kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def conforms(ours, reference, path="$") -> list[str]:
    """Where `ours` lacks a field of `reference` or holds another JSON type (null in the
    reference's example matches anything; ours may be null where the example shows a value,
    e.g. a date not set yet; a list's items are compared with the example's first item)."""
    problems = []
    if reference is None or ours is None:
        return problems
    if kind(ours) != kind(reference):
        return [f"{path}: {kind(ours)} where the reference has {kind(reference)}"]
    if isinstance(reference, dict) and list(reference) == ["*"]:
        for key, value in ours.items():
            problems.extend(conforms(value, reference["*"], f"{path}.{key}"))
    elif isinstance(reference, dict):
        for key, value in reference.items():
            if key not in ours:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(conforms(ours[key], value, f"{path}.{key}"))
    elif isinstance(reference, list) and reference:
        for index, item in enumerate(ours):
            problems.extend(conforms(item, reference[0], f"{path}[{index}]"))
    return problems


def assert_conforms(ours, reference):
    problems = conforms(ours, reference)
    assert not problems, problems


# --- the examples ---------------------------------------------------------------------------------

OPT_IN = {  # 001, "Standard event registration" (opening brace and e-mail repaired)
    "customer": "09d9e415-521b-48ef-9b44-fbdc8dc0189c",
    "action": "opt_in",
    "data": {
        "email": "alyson.nash@example.com",
        "first_name": "Alyson",
        "last_name": "Nash",
        "handler": "alyson-nash",
        "referrer": "e4ff6e29-9af0-428c-a4e6-2908f9e07305",
    },
}
DISPLAY_OPT_IN = {  # 001, "Display API" (e-mail repaired)
    "password": "string",
    "confirm_password": "string",
    "first_name": "John",
    "last_name": "Doe",
    "email": "john.doe@example.com",
    "birth_date": "1970-01-01",
    "gender": "female",
    "language": "en",
    "phone": "36307741144",
    "mobile_phone": "36307741144",
    "handler": "john.doe",
}
OPT_OUT = {
    "customer": "280e674c-c4ea-4a30-987a-d9267d1a5018",
    "action": "opt_out",
    "data": {"reason": "The customer decided to leave the loyalty program voluntarily."},
}
PROFILE = {  # 001 (e-mail and trailing comma repaired)
    "customer": "9f60a422-1e56-46c1-ae7a-b3fae778fac8",
    "action": "profile",
    "data": {
        "email": "johnie.caris@example.com",
        "first_name": "Johnie",
        "last_name": "Caris",
        "favorite_color": "black",
    },
}
BULK = {  # 001, "External identifiers" (the `...` of the second event repaired)
    "events": [
        {
            "customer": "280e674c-c4ea-4a30-987a-d9267d1a5018",
            "action": "opt_in",
            "data": {"loyalty_barcode": "1234-5678-9123"},
        },
        {
            "customer": "1234-5678-9123",
            "external_id": "loyalty_barcode",
            "action": "profile",
            "data": {"first_name": "Barcode"},
        },
        {"customer": "ea2a593c-d089-44b6-96e6-0a812247cda2", "action": "point_add", "data": {"points": 1}},
    ]
}
ENTITIES = {  # 001 (`"first_name", "Test"`, the closing bracket and `barcode` for the external ID's
    # field `loyalty_barcode`, which the next entity looks the customer up by, repaired)
    "entities": [
        {
            "method": "PUT",
            "type": "core/customer",
            "id": "280e674c-c4ea-4a30-987a-d9267d1a5018",
            "data": {"loyalty_barcode": "1234-5678-9123"},
        },
        {
            "method": "POST",
            "type": "core/customer",
            "id": "loyalty_barcode:1234-5678-9123",
            "data": {"first_name": "Test"},
        },
        {"method": "GET", "type": "core/customer", "id": "ea2a593c-d089-44b6-96e6-0a812247cda2"},
    ]
}
CHECKOUT = {  # 002 (opening brace repaired)
    "customer": "374397439743",
    "action": "checkout",
    "data": {
        "total": "200",
        "transaction_id": "5475-4343-4343-4343-3333",
        "items": [
            {
                "transaction_id": "5475-4343-4343-4343-3333",
                "product_id": "UFA-8888-94394-EN/38/YELLOW",
                "product_name": "Yellow T-Shirt",
                "product_url": "https://example.com/yellow-t-shirt",
                "quantity": "1",
                "subtotal": "200",
                "price": "200",
                "product_category": "t-shirts",
            }
        ],
    },
}
CURL_FORM = (  # 002's cURL body, as sent
    "customer=374397439743&action=checkout&data%5Btransaction_id%5D=5475-4343-4343-4343-3334&data%5Btotal%5D=200"
    "&data%5Bitems%5D%5B0%5D%5Btransaction_id%5D=5475-4343-4343-4343-3334&data%5Bitems%5D%5B0%5D%5Bquantity%5D=1"
    "&data%5Bitems%5D%5B0%5D%5Bprice%5D=200&data%5Bitems%5D%5B0%5D%5Bsubtotal%5D=200"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_name%5D=Yellow%20T-Shirt"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_id%5D=TUFA-8888-94394-EN%2FXL%2FYELLOW"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_url%5D=https%3A%2F%2Fexample.com%2Fyellow-t-shirt"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_category%5D=t-shirts"
)


@pytest.fixture
def workspace(program):
    """The workspace the examples assume: Multi-accounts and Tiers on (001's object shows both),
    the custom attributes they send, the customers they name."""
    program = Program.current()
    program.multi_accounts = True
    program.tiers = True
    program.save()
    PointAccount.objects.filter(code="points").update(
        burn_rates=[{"amount": 1, "points": 100, "currency": "USD"}]
    )
    structure = TierStructure.objects.create(code="basic_tiers", name="Basic tiers")
    Tier.objects.create(structure=structure, code="T0", name="T0", threshold=0)
    from loyalty.tiers import clear_tier_cache

    clear_tier_cache()
    CustomField.objects.create(name="favorite_color", label="Favorite color")
    CustomField.objects.create(name="loyalty_barcode", label="Barcode", external_id=True)
    for customer in (
        "e4ff6e29-9af0-428c-a4e6-2908f9e07305",
        "9f60a422-1e56-46c1-ae7a-b3fae778fac8",
        "ea2a593c-d089-44b6-96e6-0a812247cda2",
        "374397439743",
    ):
        register_event(
            environment="live",
            customer=customer,
            action="opt_in",
            data={"email": f"{customer[:8]}@example.com"},
        )
    return program


def ok(response):
    assert response.status_code == 200, response.content
    return response.json()


def test_001_opt_in_through_the_events_api(api, workspace):
    body = ok(api.post("/api/events", OPT_IN))
    assert_conforms(body, EVENTS_API_ANSWER)
    assert body["id"] == OPT_IN["customer"] and body["email"] == "alyson.nash@example.com"


def test_001_display_api_opt_in(api, workspace):
    body = ok(api.post("/api/customers/0b1c2d3e-display/opt-in", DISPLAY_OPT_IN))
    assert_conforms(body, {k: v for k, v in CUSTOMER_API_EXAMPLE.items() if k not in ("accounts", "tiers")})
    assert body["first_name"] == "John" and "password" not in body


def test_001_opt_out(api, workspace):
    register_event(
        environment="live", customer=OPT_OUT["customer"], action="opt_in", data={"email": "o@example.com"}
    )
    body = ok(api.post("/api/events", OPT_OUT))
    assert_conforms(
        {k: v for k, v in body.items() if k != "events"},
        {k: v for k, v in EVENTS_API_ANSWER.items() if k != "events"},
    )
    assert body["status"] == "Opted-out"


def test_001_profile_update(api, workspace):
    body = ok(api.post("/api/events", PROFILE))
    assert_conforms(body, EVENTS_API_ANSWER)
    assert body["favorite_color"] == "black"


def test_001_customer_api_object(api, workspace):
    register_event(environment="live", customer="374397439743", action="point_add", data={"points": 2100})
    body = ok(api.get("/api/customers/374397439743"))
    assert_conforms(body, CUSTOMER_API_EXAMPLE)
    assert body["_id"] == "374397439743"


@pytest.mark.parametrize(
    "fields, key, reference",
    [
        ("purchases.mtd", "purchases", PURCHASES_MTD),
        ("purchases.history", "purchases", PURCHASES_HISTORY),
        ("expiring_points", "expiring_points", EXPIRING),
        ("expiring_points.history", "expiring_points", EXPIRING_HISTORY),
    ],
)
def test_001_data_extensions(api, workspace, fields, key, reference):
    register_event(environment="live", customer="374397439743", action="point_add", data={"points": 50})
    ok(api.post("/api/events", CHECKOUT))
    body = ok(api.get(f"/api/customers/374397439743?fields={fields}"))
    assert_conforms(body[key], reference)


def test_001_accounts_expiring_points(api, workspace):
    register_event(environment="live", customer="374397439743", action="point_add", data={"points": 2100})
    body = ok(api.get("/api/customers/374397439743?fields=accounts.expiring_points"))
    assert_conforms(body["accounts"], [ACCOUNT_WITH_EXPIRING])


def test_001_external_ids_bulk_and_rewards(api, workspace):
    bulk = ok(api.post("/api/events/bulk", BULK))
    assert_conforms(bulk, BULK_ANSWER)
    assert bulk["errors"] == 0, bulk
    assert_conforms(bulk["results"][2], {"events": EVENTS_API_ANSWER["events"]})
    body = ok(api.get("/api/customers/loyalty_barcode:1234-5678-9123"))
    assert_conforms(body, {k: v for k, v in CUSTOMER_API_EXAMPLE.items() if k != "tiers"})
    assert body["first_name"] == "Barcode"
    rewards = ok(api.get("/api/customers/loyalty_barcode:1234-5678-9123/rewards"))
    assert rewards == {"data": []}


def test_001_entities(api, workspace):
    entities = ok(api.request("PUT", "/api/entities", json=ENTITIES))
    assert (entities["total"], entities["errors"]) == (3, 0), entities
    for result in entities["results"]:
        assert_conforms(result["entity"], {k: v for k, v in CUSTOMER_API_EXAMPLE.items() if k != "tiers"})


def test_002_checkout_json(api, workspace):
    body = ok(api.post("/api/events", CHECKOUT))
    assert_conforms(body, EVENTS_API_ANSWER)
    assert body["purchase_count"] == 1


def test_002_checkout_curl_form_encoded_signed(api, workspace):
    body = ok(
        api.request("POST", "/api/events", body=CURL_FORM, content_type="application/x-www-form-urlencoded")
    )
    assert_conforms(body, EVENTS_API_ANSWER)
    assert body["purchase_total"] == 200


def test_the_shape_check_can_fail():
    assert conforms({"id": 5}, {"id": "x"}) == ["$.id: number where the reference has str"]
    assert conforms({}, {"events": []}) == ["$.events: missing"]
    assert conforms({"a": [{"b": "x"}]}, {"a": [{"b": 1}]}) == [
        "$.a[0].b: str where the reference has number"
    ]
