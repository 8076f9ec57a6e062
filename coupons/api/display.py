"""Display API rewards endpoints (reference-behaviour.md §8.2), on the same plumbing as the rest of
/api/. Writes go through register_event only (`reward`, `reward_revoke`,
`reward_bid` and the outbid customer's `reward_bid_release`).

    GET  /customers/{id}/activities/rewards                   rewards the customer may claim now
    GET  /customers/{id}/activities/rewards/{reward}          one of them (160321 when not active)
    POST /customers/{id}/activities/rewards/{reward}/claim    `points`, `count` -> {spent, id, last_claimed_at, coupon}
    POST /customers/{id}/activities/rewards/{reward}/revoke   `event` (the claim's event ID)
    POST /customers/{id}/activities/rewards/{reward}/bid      `amount` (empty: highest + bid step)
    GET  /customers/{id}/rewards                              claimed rewards, newest first
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from coupons import auctions, rewards
from coupons.models import Reward, RewardClaim
from coupons.tasks import release_bid
from customers.api.serializers import event_customer
from events.api.views import event_response, find_or_404, register_from_request
from events.choices import EventSource
from events.engine import register_event
from loyalty import clock
from loyalty.api import paging, schema
from loyalty.api.models import Scope
from loyalty.api.requests import json_body
from loyalty.api.views import ApiView
from loyalty.bounds import POINTS_MAX, is_digits
from loyalty.errors import BusinessRuleError, NotFound, ValidationError
from loyalty.models import PointBalance

from .serializers import CouponSerializer, RewardSerializer, coupon_object, reward_object

REWARD_REF = OpenApiParameter("reward", int, OpenApiParameter.PATH, description="reward ID")
MAX_CLAIM_COUNT = 50
CLAIM_FIELDS = {"customer", "reward"}


def spendable_of(customer) -> dict[int, int]:
    return dict(PointBalance.objects.filter(customer=customer).values_list("account_id", "spendable"))


def reward_or_404(reward_ref: str) -> Reward:
    item = (
        Reward.objects.select_related("account", "pool").filter(pk=int(reward_ref)).first()
        if reward_ref.isascii() and reward_ref.isdigit() and len(reward_ref) < 19
        else None
    )
    if item is None:
        raise NotFound(f"Reward {reward_ref[:100]!r} does not exist.", field="reward")
    return item


def whole_number(body: dict, name: str, *, low: int, high: int) -> int | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or is_digits(value)):
        raise ValidationError(f"'{name}' must be a whole number.", field=name)
    number = int(value)
    if not low <= number <= high:
        raise ValidationError(f"'{name}' must be from {low} to {high}.", field=name)
    return number


class ActivityRewardsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_activity_rewards",
        summary="Rewards this customer may claim now (whether or not they can afford them)",
        parameters=[schema.CUSTOMER_REF, *schema.ENVELOPE_PARAMETERS[:2]],
        responses=schema.reads(inline_serializer("ActivityRewards", {"data": RewardSerializer(many=True)})),
        tags=["rewards"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        limit, offset = paging.page_limit(request.query_params), paging.page_offset(request.query_params)
        spendable = spendable_of(customer)
        items = rewards.claimable(customer, clock.now())[offset : offset + limit]
        return Response({"data": [reward_object(item, spendable, customer) for item in items]})


class ActivityRewardView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_activity_reward",
        summary="One reward as this customer sees it (160321 when it is not active)",
        parameters=[schema.CUSTOMER_REF, REWARD_REF],
        responses=schema.reads(RewardSerializer),
        tags=["rewards"],
    )
    def get(self, request, id, reward):
        customer = find_or_404(request, id)
        item = reward_or_404(reward)
        ok, why = rewards.availability(item, customer, clock.now())
        if not ok and why.code == rewards.NOT_ACTIVE:
            raise BusinessRuleError(why, field="reward", code=why.code)
        return Response(reward_object(item, spendable_of(customer), customer))


class ClaimResponseSerializer(serializers.Serializer):
    spent = serializers.IntegerField(help_text="points spent by this call")
    id = serializers.IntegerField(help_text="the (last) claim's reward event ID")
    last_claimed_at = serializers.DateTimeField()
    coupon = CouponSerializer(allow_null=True)
    coupons = CouponSerializer(many=True, help_text="every coupon handed out by this call")
    claims = serializers.ListField(child=serializers.IntegerField(), help_text="every claim's event ID")


class RewardClaimView(ApiView):
    """`count` claims in one call are all-or-nothing (one database transaction). `points` is for
    the reference's dynamic rewards; every reward here has a fixed cost, so `points` must equal it."""

    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_activity_reward_claim",
        summary="Claim a reward (registers `count` reward events)",
        parameters=[
            schema.CUSTOMER_REF,
            REWARD_REF,
            OpenApiParameter("fields", str, description="customer,reward: add those objects to the answer"),
            schema.IDEMPOTENCY_KEY,
        ],
        request=inline_serializer(
            "RewardClaimRequest",
            {
                "points": serializers.IntegerField(required=False),
                "count": serializers.IntegerField(required=False, min_value=1, max_value=MAX_CLAIM_COUNT),
            },
        ),
        responses=schema.writes(ClaimResponseSerializer),
        tags=["rewards"],
    )
    def post(self, request, id, reward):
        body = json_body(request)
        fields = {f.strip() for f in (request.query_params.get("fields") or "").split(",") if f.strip()}
        if fields - CLAIM_FIELDS:
            raise ValidationError("'fields' may name customer and reward.", field="fields")
        item = reward_or_404(reward)
        count = whole_number(body, "count", low=1, high=MAX_CLAIM_COUNT) or 1
        points = whole_number(body, "points", low=0, high=10**15)
        if points is not None and points != item.points:
            raise ValidationError(
                f"This reward costs {item.points} points; 'points' cannot change it.", field="points"
            )
        results = []
        with transaction.atomic():
            for _ in range(count):
                results.append(
                    register_from_request(request, {"data": {"reward": reward}}, action="reward", customer=id)
                )
        claims = [result.extra["reward_claim"] for result in results]
        coupons = [coupon_object(c.coupon) for c in claims if c.coupon is not None]
        answer = {
            "spent": sum(c.points for c in claims),
            "id": claims[-1].event_id,
            "last_claimed_at": claims[-1].created_at.isoformat(),
            "coupon": coupons[-1] if coupons else None,
            "coupons": coupons,
            "claims": [c.event_id for c in claims],
        }
        if "customer" in fields:
            answer["customer"] = event_customer(results[-1].customer)
        if "reward" in fields:
            answer["reward"] = reward_object(item, spendable_of(results[-1].customer), results[-1].customer)
        return Response(answer)


class RewardRevokeView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_activity_reward_revoke",
        summary="Revoke a claim: points back, its unused coupon invalidated (registers reward_revoke)",
        parameters=[schema.CUSTOMER_REF, REWARD_REF, schema.IDEMPOTENCY_KEY],
        request=inline_serializer("RewardRevokeRequest", {"event": serializers.IntegerField()}),
        responses=schema.writes(
            inline_serializer("RewardRevokeResponse", {"events": serializers.ListField()})
        ),
        tags=["rewards"],
    )
    def post(self, request, id, reward):
        body = json_body(request)
        reward_or_404(reward)
        data = {"event": body.get("event"), "reward": reward}
        if body.get("reason") not in (None, ""):
            data["reason"] = body["reason"]
        result = register_from_request(request, {"data": data}, action="reward_revoke", customer=id)
        return Response(event_response(result))


class ClaimedRewardSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the claim's reward event ID")
    reward = RewardSerializer()
    points = serializers.IntegerField()
    coupon = CouponSerializer(allow_null=True)
    claimed_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class ClaimedRewardsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_rewards",
        summary="The rewards this customer claimed, newest first",
        parameters=[schema.CUSTOMER_REF, *schema.ENVELOPE_PARAMETERS[:2]],
        responses=schema.reads(
            inline_serializer("ClaimedRewards", {"data": ClaimedRewardSerializer(many=True)})
        ),
        tags=["rewards"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        limit, offset = paging.page_limit(request.query_params), paging.page_offset(request.query_params)
        spendable = spendable_of(customer)
        claims = (
            RewardClaim.objects.filter(customer=customer)
            .select_related("reward__account", "reward__pool", "coupon__pool")
            .order_by("-id")[offset : offset + limit]
        )
        return Response(
            {
                "data": [
                    {
                        "id": claim.event_id,
                        "reward": reward_object(claim.reward, spendable, customer),
                        "points": claim.points,
                        "coupon": coupon_object(claim.coupon) if claim.coupon else None,
                        "claimed_at": claim.created_at.isoformat(),
                        "revoked_at": claim.revoked_at.isoformat() if claim.revoked_at else None,
                    }
                    for claim in claims
                ]
            }
        )


class BidResponseSerializer(RewardSerializer):
    bid = inline_serializer(
        "Bid",
        {
            "id": serializers.IntegerField(help_text="the reward_bid event ID"),
            "points": serializers.IntegerField(help_text="points bid (reserved while it leads)"),
            "status": serializers.CharField(),
        },
    )
    customer = serializers.JSONField(help_text="the customer object of the Events API, after the bid")


class RewardBidView(ApiView):
    """The reference's bidding rewards: without `amount` the bid is the highest bid plus the bid
    step (the starting bid when nobody has bid). The auction's row is locked before the customer
    (coupons.auctions), so concurrent bids are serialized: one leads, the other is outbid or
    refused; the outbid customer's points are released in the same transaction."""

    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_activity_reward_bid",
        summary="Bid on a bidding reward (registers reward_bid; the outbid leader gets reward_bid_release)",
        parameters=[schema.CUSTOMER_REF, REWARD_REF, schema.IDEMPOTENCY_KEY],
        request=inline_serializer(
            "RewardBidRequest", {"amount": serializers.IntegerField(required=False, min_value=1)}
        ),
        responses=schema.writes(BidResponseSerializer),
        tags=["rewards"],
    )
    def post(self, request, id, reward):
        body = json_body(request)
        amount = whole_number(body, "amount", low=1, high=POINTS_MAX)
        item = reward_or_404(reward)
        data = {"reward": str(item.pk)}
        if amount is not None:
            data["amount"] = amount
        with transaction.atomic():
            auctions.lock_auction(item.pk)  # the auction first, then the bidder, then the one outbid
            result = register_event(
                environment=request.auth.environment,
                customer=id,
                action="reward_bid",
                data=data,
                source=EventSource.API,
                ip_address=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                internal=True,
            )
            outbid = result.extra.get("outbid")
            if outbid is not None:
                release_bid(outbid)
        bid = result.extra["reward_bid"]
        answer = reward_object(result.extra["reward"], spendable_of(result.customer), result.customer)
        answer["bid"] = {"id": bid.event_id, "points": bid.points, "status": bid.status}
        answer["customer"] = event_customer(result.customer)
        return Response(answer)
