"""POST /api/events and /api/events/bulk with the reference documents' examples, checked in the DB."""

from customers.models import Customer, CustomField
from events.models import Event
from loyalty.models import PointAccount

from .conftest import error_of
from .test_contract_seeds import CHECKOUT, OPT_IN  # 001/002's request examples, kept once there

# 002's cURL example, byte for byte.
CURL_BODY = (
    "customer=374397439743&action=checkout&data%5Btransaction_id%5D=5475-4343-4343-4343-3333&data%5Btotal%5D=200"
    "&data%5Bitems%5D%5B0%5D%5Btransaction_id%5D=5475-4343-4343-4343-3333&data%5Bitems%5D%5B0%5D%5Bquantity%5D=1"
    "&data%5Bitems%5D%5B0%5D%5Bprice%5D=200&data%5Bitems%5D%5B0%5D%5Bsubtotal%5D=200"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_name%5D=Yellow%20T-Shirt"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_id%5D=TUFA-8888-94394-EN%2FXL%2FYELLOW"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_url%5D=https%3A%2F%2Fexample.com%2Fyellow-t-shirt"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_category%5D=t-shirts"
)
FORM = "application/x-www-form-urlencoded"


def opt_in(api, customer_id, **data):
    response = api.post("/api/events", {"customer": customer_id, "action": "opt_in", "data": data})
    assert response.status_code == 200, response.content
    return response


def test_opt_in_example_enrolls_the_customer(api):
    opt_in(api, "e4ff6e29-9af0-428c-a4e6-2908f9e07305", email="ref@example.com")
    response = api.post("/api/events", OPT_IN)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == OPT_IN["customer"] and "_id" not in body  # the Events API's shape (§8.3)
    assert isinstance(body["created_at"], int)
    assert body["status"] == "Active"
    assert body["referrer"] == "e4ff6e29-9af0-428c-a4e6-2908f9e07305"
    assert body["events"] == []
    customer = Customer.objects.get(customer_id=OPT_IN["customer"], environment="live")
    assert (customer.first_name, customer.last_name, customer.email) == (
        "Alyson",
        "Nash",
        "alyson.nash@example.com",
    )
    assert customer.status == "active"
    assert customer.referrer.customer_id == "e4ff6e29-9af0-428c-a4e6-2908f9e07305"
    event = Event.objects.get(customer=customer, action="opt_in")
    assert event.source == "api"
    assert api.get("/api/customers/e4ff6e29-9af0-428c-a4e6-2908f9e07305").json()["referrals"] == 1


def test_opt_out_example_anonymizes_the_customer(api):
    opt_in(api, "280e674c-c4ea-4a30-987a-d9267d1a5018", email="leaver@example.com", first_name="Lea")
    response = api.post(
        "/api/events",
        {
            "customer": "280e674c-c4ea-4a30-987a-d9267d1a5018",
            "action": "opt_out",
            "data": {"reason": "The customer decided to leave the loyalty program voluntarily."},
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "Opted-out"
    customer = Customer.objects.get(pk=Event.objects.filter(action="opt_out").get().customer_id)
    assert customer.status == "opted_out"
    assert customer.anonymized_at is not None
    assert customer.email == "" and customer.first_name == ""
    assert api.get("/api/customers/280e674c-c4ea-4a30-987a-d9267d1a5018").status_code == 404


def test_profile_example_updates_built_in_and_custom_attributes(api):
    CustomField.objects.create(name="favorite_color", label="Favorite color")
    opt_in(api, "9f60a422-1e56-46c1-ae7a-b3fae778fac8", email="old@example.com")
    response = api.post(
        "/api/events",
        {
            "customer": "9f60a422-1e56-46c1-ae7a-b3fae778fac8",
            "action": "profile",
            "data": {
                "email": "johnie.caris@example.com",
                "first_name": "Johnie",
                "last_name": "Caris",
                "favorite_color": "black",
            },
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["favorite_color"] == "black"
    customer = Customer.objects.get(customer_id="9f60a422-1e56-46c1-ae7a-b3fae778fac8")
    assert customer.email == "johnie.caris@example.com"
    assert customer.custom["favorite_color"] == "black"


def test_point_add_returns_the_point_events(api):
    opt_in(api, "earner", email="earner@example.com")
    response = api.post("/api/events", {"customer": "earner", "action": "point_add", "data": {"points": 150}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["spendable"] == 150 and body["score"] == 150
    assert [(e["action"], e["points"]) for e in body["events"]] == [("point_add", 150)]
    (event,) = body["events"]
    assert set(event) == {"id", "action", "points", "expdate", "account"}
    assert event["account"] == {"id": "points", "name": PointAccount.objects.get(code="points").name}
    assert event["expdate"] is None or len(event["expdate"]) == 10  # a date, YYYY-MM-DD
    assert Customer.objects.get(customer_id="earner").spendable == 150


def test_expdate_is_the_calendar_date_of_the_expiry(api):
    import datetime as dt

    opt_in(api, "earner", email="earner@example.com")
    response = api.post(
        "/api/events",
        {
            "customer": "earner",
            "action": "point_add",
            "data": {"points": 5, "expiration_date": "2030-06-30T23:59:59Z"},
        },
    )
    (event,) = response.json()["events"]
    assert dt.date.fromisoformat(event["expdate"]) in (dt.date(2030, 6, 30), dt.date(2030, 7, 1))


def test_form_encoded_bracket_syntax_is_parsed(api):
    opt_in(api, "former", email="former@example.com")
    body = "customer=former&action=profile&data%5Bfirst_name%5D=Form&data%5Blabels%5D%5B%5D=vip&data%5Blabels%5D%5B%5D=new"
    response = api.post("/api/events", body=body, content_type=FORM)
    assert response.status_code == 200, response.content
    customer = Customer.objects.get(customer_id="former")
    assert customer.first_name == "Form"
    assert sorted(customer.labels.values_list("name", flat=True)) == ["new", "vip"]


def test_dry_run_explains_and_stores_nothing(api):
    opt_in(api, "dreamer", email="dreamer@example.com")
    before = Event.objects.count()
    response = api.post(
        "/api/events?dry_run=true", {"customer": "dreamer", "action": "point_add", "data": {"points": 70}}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["explain"]["dry_run"] is True
    assert body["explain"]["balances"]["after"]["points"]["spendable"] == 70
    assert body["spendable"] == 70
    assert Event.objects.count() == before
    assert Customer.objects.get(customer_id="dreamer").spendable == 0


def test_engine_errors_use_the_envelope(api):
    response = api.post("/api/events", {"customer": "nobody-here", "action": "no_such_action"})
    assert response.status_code == 400
    assert error_of(response) == {
        "type": "BadRequestException",
        "code": 113402,
        "message": "Unknown action 'no_such_action'.",
        "field": "action",
    }
    response = api.post("/api/events", {"action": "login"})
    assert response.status_code == 400
    assert error_of(response)["code"] == 113401


def test_insufficient_points_is_a_422(api):
    opt_in(api, "spender", email="spender@example.com")
    response = api.post(
        "/api/events", {"customer": "spender", "action": "point_spend", "data": {"points": 10}}
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == 160423
    assert not Event.objects.filter(action="point_spend").exists()


def test_bulk_example_with_external_id(api):
    CustomField.objects.create(name="loyalty_barcode", label="Barcode", external_id=True)
    opt_in(api, "ea2a593c-d089-44b6-96e6-0a812247cda2", email="bulk@example.com")
    response = api.post(
        "/api/events/bulk",
        {
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
                {
                    "customer": "ea2a593c-d089-44b6-96e6-0a812247cda2",
                    "action": "point_add",
                    "data": {"points": 1},
                },
                {
                    "customer": "ea2a593c-d089-44b6-96e6-0a812247cda2",
                    "action": "point_spend",
                    "data": {"points": 99},
                },
            ]
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 4 and body["errors"] == 1
    assert body["results"][0] == {"events": []}
    assert body["results"][1] == {"events": []}
    assert body["results"][2]["events"][0]["points"] == 1
    assert body["results"][3]["error"]["code"] == 160423
    assert Customer.objects.get(customer_id="280e674c-c4ea-4a30-987a-d9267d1a5018").first_name == "Barcode"
    assert Customer.objects.get(customer_id="ea2a593c-d089-44b6-96e6-0a812247cda2").spendable == 1


def test_bulk_over_the_limit_is_a_413(api, settings):
    settings.API_BULK_MAX_EVENTS = 2
    events = [{"customer": f"c{i}", "action": "login"} for i in range(3)]
    response = api.post("/api/events/bulk", {"events": events})
    assert response.status_code == 413
    assert error_of(response)["code"] == 140414
    assert not Event.objects.exists()


def test_bulk_needs_an_events_list(api):
    assert error_of(api.post("/api/events/bulk", {"nope": []}))["code"] == 113401
    assert error_of(api.post("/api/events/bulk", {"events": "x"}))["code"] == 113400


def test_checkout_example_records_the_transaction(api):
    from transactions.models import Transaction

    opt_in(api, "374397439743", email="shopper@example.com")
    response = api.post("/api/events", CHECKOUT)
    assert response.status_code == 200, response.content
    transaction = Transaction.objects.get(transaction_id="5475-4343-4343-4343-3333")
    assert transaction.customer.customer_id == "374397439743"
    assert transaction.total == 200
    assert transaction.items.get().product_name == "Yellow T-Shirt"


def test_the_curl_example_is_accepted_form_encoded_and_unsigned(unsigned_api):
    from transactions.models import Transaction

    opt_in(unsigned_api, "374397439743", email="curl@example.com")
    response = unsigned_api.post(
        "/api/events", body=CURL_BODY, content_type=FORM, headers={"cache-control": "no-cache"}
    )
    assert response.status_code == 200, response.content
    transaction = Transaction.objects.get(transaction_id="5475-4343-4343-4343-3333")
    assert transaction.total == 200
    item = transaction.items.get()
    assert (item.product_id, item.quantity, item.price) == ("TUFA-8888-94394-EN/XL/YELLOW", 1, 200)
    assert item.product_url == "https://example.com/yellow-t-shirt"


def test_tier_remove_over_the_api_and_its_refusal(api, program):
    from loyalty.models import CustomerTier, Tier, TierStructure

    program.tiers = True
    program.save()
    structure = TierStructure.objects.create(code="basic", name="Basic")
    Tier.objects.create(structure=structure, code="bronze", name="Bronze", threshold=0)
    Tier.objects.create(structure=structure, code="gold", name="Gold", threshold=1000)
    opt_in(api, "tiered", email="tiered@example.com")
    changed = api.post(
        "/api/events", {"customer": "tiered", "action": "tier_change", "data": {"tier": "gold"}}
    )
    assert changed.status_code == 200, changed.content
    removed = api.post(
        "/api/events", {"customer": "tiered", "action": "tier_remove", "data": {"structure": "basic"}}
    )
    assert removed.status_code == 200, removed.content
    assert not CustomerTier.objects.filter(customer__customer_id="tiered").exists()
    assert api.get("/api/customers/tiered").json()["tiers"] == []
    again = api.post("/api/events", {"customer": "tiered", "action": "tier_remove", "data": {}})
    assert again.status_code == 422, again.content
    assert error_of(again)["field"] == "data.structure"
    assert Event.objects.filter(action="tier_remove").count() == 1
