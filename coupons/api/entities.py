"""The Entities API for rewards (reference §8.2: `/entities/{module}/{entity}[/{entity_id}]`,
`/entities/rewards/reward[...]`), scope `entities`:

    GET    /entities/rewards/reward               {data: [reward entity, ...]} (`limit`, `offset`)
    PUT    /entities/rewards/reward               create one: {reward entity}
    GET    /entities/rewards/reward/{id}          {reward entity}
    POST   /entities/rewards/reward/{id}          update the attributes given: {reward entity}
    DELETE /entities/rewards/reward/{id}          archive an inactive reward: ["OK"]

Attributes are the console's reward form's (coupons.forms.RewardForm, so the same validation and
errors: 400 naming the attribute), with the reference's `price` accepted for `points`, `account`
and `pool` / `segment` by code or ID. A reward is configuration, not a customer's state: changes
are written to the change log (user: none, the API key named), not as events. Archiving deletes a
reward nobody has claimed and refuses (409) one with claims — deactivate it instead. An unknown
module or entity answers 404 (140404), as unknown paths do.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.plumbing import build_array_type, build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from coupons.choices import RewardGives
from coupons.forms import RewardForm
from coupons.models import Reward, RewardClaim
from loyalty.api import paging, schema
from loyalty.api.models import Scope
from loyalty.api.views import ApiView
from loyalty.audit import log
from loyalty.bounds import is_digits
from loyalty.errors import Conflict, NotFound, ValidationError
from loyalty.ledger.accounts import default_account
from loyalty.models import PointAccount

ENTITY_ID = OpenApiParameter("entity_id", int, OpenApiParameter.PATH, description="reward ID")
FORM_FIELDS = RewardForm._meta.fields


def reward_entity(reward: Reward) -> dict:
    return {
        "id": str(reward.pk),
        "name": reward.name,
        "description": reward.description,
        "image_url": reward.image_url,
        "price": reward.points,
        "points": reward.points,
        "account": reward.account.code,
        "stock": reward.stock,
        "claimed_count": reward.claimed_count,
        "per_customer_limit": reward.per_customer_limit,
        "valid_from": reward.valid_from.isoformat() if reward.valid_from else None,
        "valid_until": reward.valid_until.isoformat() if reward.valid_until else None,
        "eligible_statuses": list(reward.eligible_statuses or []),
        "eligible_tiers": [t.code for t in reward.eligible_tiers.all()],
        "segment": reward.segment_id,
        "type": reward.gives,
        "gives": reward.gives,
        "pool": reward.pool_id,
        "points_given": reward.points_given,
        "bidding": reward.bidding,
        "starting_bid": reward.starting_bid,
        "bid_step": reward.bid_step,
        "active": reward.active,
        "created_at": reward.created_at.isoformat() if reward.created_at else None,
    }


def _form_data(body: dict, instance: Reward | None) -> dict:
    """The request's attributes as the form's POST data, on top of the instance's current ones."""
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object of reward attributes.", field="body")
    body = dict(body)
    if "price" in body and "points" not in body:
        body["points"] = body.pop("price")
    if "type" in body and "gives" not in body:
        body["gives"] = body.pop("type")
    body.pop("id", None)
    unknown = sorted(set(body) - set(FORM_FIELDS))
    if unknown:
        raise ValidationError(
            f"{unknown[0][:100]!r} is not an attribute of a reward.", field=unknown[0][:100]
        )
    if isinstance(body.get("account"), str) and not is_digits(body["account"]):
        account = PointAccount.objects.filter(code=body["account"]).first()
        if account is None:
            raise ValidationError(f"Unknown account {body['account'][:64]!r}.", field="account")
        body["account"] = account.pk
    data = {}
    if instance is not None:
        current = RewardForm(instance=instance).initial
        for name in FORM_FIELDS:
            value = current.get(name)
            if name == "eligible_tiers":
                value = [t.pk for t in instance.eligible_tiers.all()]
            data[name] = value
    else:  # the model's defaults, as the console's empty form has them
        data.update(
            {"gives": RewardGives.NOTHING, "points": 0, "points_given": 0, "starting_bid": 0, "bid_step": 1}
        )
        if "account" not in body:
            data["account"] = default_account().pk
    data.update(body)
    for name in ("active", "bidding"):  # a checkbox: absent means false in a form, so keep booleans explicit
        if data.get(name) is False:
            data.pop(name)
    if instance is None and "active" not in body:
        data["active"] = True
    return {k: v for k, v in data.items() if v is not None}


def _save(request, body, instance: Reward | None) -> Reward:
    form = RewardForm(_form_data(body, instance), instance=instance)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        field = None if field == "__all__" else field
        raise ValidationError(" ".join(str(e) for e in errors), field=field)
    with transaction.atomic():
        reward = form.save()
        log.record(
            user=None,
            action="reward_update" if instance is not None else "reward_create",
            environment=request.auth.environment,
            object_repr=f"Reward {reward.pk} (API key {request.auth.name})"[:200],
            after={k: str(v) for k, v in body.items()} if isinstance(body, dict) else {},
        )
    return reward


def _reward(entity_id: str) -> Reward:
    reward = (
        Reward.objects.select_related("account")
        .prefetch_related("eligible_tiers")
        .filter(pk=int(entity_id))
        .first()
        if is_digits(entity_id)
        else None
    )
    if reward is None:
        raise NotFound("Entity not found", field="entity_id")
    return reward


class RewardEntitySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.IntegerField()
    points = serializers.IntegerField()
    account = serializers.CharField()
    stock = serializers.IntegerField(allow_null=True)
    type = serializers.CharField()
    active = serializers.BooleanField()


ENTITY = RewardEntitySerializer


class RewardEntitiesView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="reward_entities",
        summary="List rewards (Entities API)",
        parameters=[*schema.PAGE_PARAMETERS],
        responses=schema.reads(
            inline_serializer("RewardEntityList", {"data": RewardEntitySerializer(many=True)})
        ),
        tags=["entities"],
    )
    def get(self, request):
        limit, offset = paging.page_limit(request.query_params), paging.page_offset(request.query_params)
        rows = Reward.objects.select_related("account").prefetch_related("eligible_tiers").order_by("pk")
        return Response({"data": [reward_entity(r) for r in rows[offset : offset + limit]]})

    @extend_schema(
        operation_id="reward_entity_create",
        summary="Create a reward (Entities API)",
        request=OpenApiTypes.OBJECT,
        responses=schema.writes(ENTITY),
        tags=["entities"],
    )
    def put(self, request):
        return Response(reward_entity(_save(request, request.data, None)))


class RewardEntityView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="reward_entity",
        summary="A reward (Entities API)",
        parameters=[ENTITY_ID],
        responses=schema.reads(ENTITY),
        tags=["entities"],
    )
    def get(self, request, entity_id):
        return Response(reward_entity(_reward(entity_id)))

    @extend_schema(
        operation_id="reward_entity_update",
        summary="Update a reward's attributes (Entities API)",
        parameters=[ENTITY_ID],
        request=OpenApiTypes.OBJECT,
        responses=schema.writes(ENTITY),
        tags=["entities"],
    )
    def post(self, request, entity_id):
        return Response(reward_entity(_save(request, request.data, _reward(entity_id))))

    @extend_schema(
        operation_id="reward_entity_archive",
        summary="Archive an inactive reward (Entities API)",
        parameters=[ENTITY_ID],
        responses=schema.writes(build_array_type(build_basic_type(OpenApiTypes.STR))),
        tags=["entities"],
    )
    def delete(self, request, entity_id):
        reward = _reward(entity_id)
        if reward.active:
            raise Conflict("Only an inactive reward can be archived; deactivate it first.", field="active")
        if RewardClaim.objects.filter(reward=reward).exists():
            raise Conflict("The reward has claims; keep it inactive instead.", field="entity_id")
        if reward.bids.exists():
            raise Conflict("Customers have bid on the reward; keep it inactive instead.", field="entity_id")
        with transaction.atomic():
            log.record(
                user=None,
                action="reward_archive",
                environment=request.auth.environment,
                object_repr=f"Reward {reward.pk} {reward.name} (API key {request.auth.name})"[:200],
            )
            reward.delete()
        return Response(["OK"])
