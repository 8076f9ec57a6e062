"""A POST whose body must be a JSON object (loyalty.api.requests.json_body): a list, a number or a
string is refused with 400, code 113400 and the field `body`, on every endpoint that reads one
(before, some answered without a field, one named another field, and the optional ones read such a
body as empty and went on)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cards.models import LoyaltyCard
from events.engine import register_event
from loyalty.models import Program
from segments.models import CustomerList

from .conftest import error_of

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/customers/-/login",
    "/api/customers/-/password/request",
    "/api/customers/-/password/reset",
    "/api/customers/Anna-1/merge",
    "/api/customers/Anna-1/opt-in",
    "/api/customers/Anna-1/transactions/-/search",
    "/api/customers/Anna-1/activities/rewards/1/claim",
    "/api/customers/Anna-1/activities/rewards/1/revoke",
    "/api/customers/Anna-1/activities/rewards/1/bid",
    "/api/extensions/automation/campaign-bonus",
    "/api/cards",
    "/api/cards/C-1/link_profile",
    "/api/v1/coupon-pools",
    "/api/v1/bulk-operation/customer-list/add/{list}",
    "/api/referrals",
    "/api/pending-triggers/1/retry",
    "/api/coupons/CODE-1/redeem",  # optional body
    "/api/exports",  # optional body
]


@pytest.fixture
def everything_on(db):
    program = Program.current()
    for module in ("loyalty_cards", "referrals", "auctions", "workflows"):
        if hasattr(program, module):
            setattr(program, module, True)
    program.save()
    register_event(environment="live", customer="Anna-1", action="opt_in", data={})
    now = timezone.now()
    LoyaltyCard.objects.create(code="C-1", created_at=now, updated_at=now)
    return {"list": CustomerList.objects.create(name="Newsletter").pk}


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("body", ["[1, 2]", "7", '"text"'])
def test_a_body_that_is_not_an_object_is_refused_on_the_body(api, everything_on, path, body):
    response = api.request("POST", path.format(**everything_on), body=body)
    assert response.status_code == 400, (path, response.content)
    error = error_of(response)
    assert (error["code"], error["field"]) == (113400, "body"), (path, error)
    assert "must be" in error["message"] and "JSON object" in error["message"]


def test_no_body_where_it_is_optional_reads_as_empty(api, everything_on):
    response = api.request("POST", "/api/exports", body="")
    assert response.status_code == 400  # reached the body's own checks: the model is missing
    assert error_of(response)["field"] == "model"


@pytest.mark.parametrize("body", ["[1, 2]", "7"])
def test_the_card_transfer_refuses_it_too(api, everything_on, body):
    response = api.request("PUT", "/api/cards/C-1/transfer", body=body)
    assert response.status_code == 400, response.content
    assert error_of(response)["field"] == "body"


def test_the_sandbox_clock_refuses_a_list_body_too(sandbox_api):
    response = sandbox_api.request("POST", "/api/sandbox/clock", body="[1]")
    assert response.status_code == 400, response.content
    assert error_of(response)["field"] == "body"
