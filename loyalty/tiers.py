"""Tier evaluation and manual tier changes. Called only by event handlers and the engine.

Rules (docs/ledger.md has the long version):
- tier points of a structure = points earned (point_add, custom events, purchases; pending ones
  included, point_sub deducted) in the structure's accounts (all accounts when none is chosen)
  over the last `qualification_months`, or over the whole membership when that is empty;
  point_spend and expiration do not lower them;
- the qualified tier is the highest tier whose threshold the tier points reach;
- upgrade: at once, when the qualified tier is higher (a new validity period starts, a tier_up
  event is emitted, any manual lock ends);
- downgrade: when the qualified tier is lower, only if the tier is not locked, and only once the
  current tier expired (or at once when the structure's tiers do not expire); with the
  keep-highest method there is no automatic downgrade, the validity is renewed instead;
- a manual tier_change / tier_up / tier_down locks the tier until its expiration date (pass
  lock=false not to); with keep-highest, no manual downgrade below the qualified tier;
- entering the lowest tier (threshold 0) creates the membership without a tier_up event.
Customer.tier mirrors the first structure's tier (the customer list column).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum

from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, ValidationError
from loyalty.ledger.expiration import add_months

from . import configcache
from .models import CustomerTier, LedgerEntry, PointBalance, Tier, TierStructure
from .models.ledger import EntryKind
from .models.tiers import TIER_CACHE_KEY as CACHE_KEY
from .models.tiers import TierExpirationMethod

EARNING_KINDS = (EntryKind.EARN, EntryKind.PENDING, EntryKind.SUB)


def structures() -> list[tuple[TierStructure, list[Tier], list[int]]]:
    """[(structure, tiers by threshold, account ids or [] for all)], kept like the accounts."""
    return configcache.get(CACHE_KEY, _load_structures)


def _load_structures() -> list[tuple[TierStructure, list[Tier], list[int]]]:
    loaded = []
    for structure in TierStructure.objects.prefetch_related("tiers", "accounts"):
        tiers = sorted(structure.tiers.all(), key=lambda t: (t.threshold, t.pk))
        loaded.append((structure, tiers, sorted(a.pk for a in structure.accounts.all())))
    return loaded


def clear_tier_cache() -> None:
    configcache.changed()


def load_rows(customer) -> dict[int, CustomerTier]:
    """{structure id: CustomerTier} of the customer (one query; none without tier structures)."""
    if not structures():
        return {}
    return {
        ct.structure_id: ct for ct in CustomerTier.objects.filter(customer=customer).select_related("tier")
    }


def rows(ctx: HandlerContext) -> dict[int, CustomerTier]:
    """The event's tier rows: loaded once per event (by the engine, or here on first use) and kept
    on the context, so evaluation and the manual handlers update them and the after-snapshot reads
    them without a query."""
    if ctx.tier_rows is None:
        ctx.tier_rows = load_rows(ctx.customer)
    return ctx.tier_rows


def snapshot(tier_rows: dict[int, CustomerTier]) -> dict[str, str | None]:
    """{structure code: tier code or None} for the given tier rows."""
    if not structures():
        return {}
    return {
        structure.code: (tier_rows[structure.pk].tier.code if structure.pk in tier_rows else None)
        for structure, _, _ in structures()
    }


def _earned_since(customer, account_ids, since: dt.datetime | None, balances=None) -> int:
    if since is None:
        if balances is not None:  # the engine's locked rows: every balance row of the customer
            return sum(b.earned for b in balances.values() if not account_ids or b.account_id in account_ids)
        rows = PointBalance.objects.filter(customer=customer)
        if account_ids:
            rows = rows.filter(account_id__in=account_ids)
        return rows.aggregate(total=Sum("earned"))["total"] or 0
    entries = LedgerEntry.objects.filter(customer=customer, kind__in=EARNING_KINDS, created_at__gte=since)
    if account_ids:
        entries = entries.filter(account_id__in=account_ids)
    return entries.aggregate(total=Sum("amount"))["total"] or 0


def tier_points(customer, structure, account_ids, now, balances=None) -> int:
    months = structure.qualification_months
    return _earned_since(customer, account_ids, add_months(now, -months) if months else None, balances)


def points_after_expiration(customer, structure, account_ids, expires_at, now, points=None) -> int:
    """Tier points still inside the qualification window on the tier's expiration date."""
    months = structure.qualification_months
    if not months or expires_at is None:
        return points if points is not None else tier_points(customer, structure, account_ids, now)
    return _earned_since(customer, account_ids, add_months(expires_at, -months))


def qualified_tier(tiers: list[Tier], points: int) -> Tier | None:
    best = None
    for tier in tiers:
        if tier.threshold <= points:
            best = tier
    return best


def _validity(structure, now) -> dt.datetime | None:
    return add_months(now, structure.tier_validity_months) if structure.tier_validity_months else None


def _locked(ct: CustomerTier, now) -> bool:
    return ct.locked and (ct.locked_until is None or ct.locked_until > now)


def _emit(ctx, action, structure, tier, previous, reason=""):
    data = {
        "structure": structure.code,
        "tier": tier.code,
        "previous_tier": previous.code if previous else None,
        "automatic": True,
    }
    if reason:
        data["reason"] = reason
    ctx.emit(action, data=data, parent=ctx.event)


def _set_customer_tier(ctx) -> None:
    first = structures()[0][0] if structures() else None
    if first is None:
        return
    ct = rows(ctx).get(first.pk)
    ctx.customer.tier_id = ct.tier_id if ct else None


def _ledger_balances(ctx):
    """The customer's balance rows when the context holds all of them (the engine's), else None."""
    return ctx.balances if ctx.balances_complete else None


def evaluate(ctx: HandlerContext) -> None:
    """Re-evaluate every tier structure after earned points changed (automatic tier up/down)."""
    now = ctx.now
    for structure, tiers, account_ids in structures():
        if not tiers:
            continue
        points = tier_points(ctx.customer, structure, account_ids, now, _ledger_balances(ctx))
        qualified = qualified_tier(tiers, points)
        ct = rows(ctx).get(structure.pk)
        if ct is None:
            if qualified is None:
                continue
            ct = CustomerTier(
                customer=ctx.customer,
                structure=structure,
                tier=qualified,
                since=now,
                expires_at=_validity(structure, now),
            )
            rows(ctx)[structure.pk] = ct
            if qualified != tiers[0] or qualified.threshold > 0:
                _emit(ctx, "tier_up", structure, qualified, None)
        else:
            current = ct.tier
            expired = ct.expires_at is not None and ct.expires_at <= now
            if ct.locked and ct.locked_until is not None and ct.locked_until <= now:
                ct.locked, ct.locked_until = False, None  # a manual lock ends at its date (§4)
            if qualified is not None and qualified.threshold > current.threshold:
                ct.tier, ct.since, ct.expires_at, ct.locked, ct.locked_until = (
                    qualified,
                    now,
                    _validity(structure, now),
                    False,
                    None,
                )
                _emit(ctx, "tier_up", structure, qualified, current)
            elif (qualified is None or qualified.threshold < current.threshold) and not _locked(ct, now):
                if structure.expiration_method == TierExpirationMethod.KEEP_HIGHEST:
                    if expired:
                        ct.expires_at = _validity(structure, now)
                elif expired or structure.tier_validity_months is None:
                    target = qualified or tiers[0]
                    ct.tier, ct.since, ct.expires_at, ct.locked, ct.locked_until = (
                        target,
                        now,
                        _validity(structure, now),
                        False,
                        None,
                    )
                    _emit(
                        ctx,
                        "tier_down",
                        structure,
                        target,
                        current,
                        f"The {current.name} tier expired and {points} tier points qualify for {target.name}."
                        if expired
                        else f"{points} tier points no longer reach {current.name}.",
                    )
            elif expired and not _locked(ct, now):
                ct.expires_at = _validity(structure, now)  # re-qualified for the same tier
        ct.tier_points = points
        ct.points_after_expiration = points_after_expiration(
            ctx.customer, structure, account_ids, ct.expires_at, now, points
        )
        ct.save()
    _set_customer_tier(ctx)


# ---------------------------------------------------------------------------------------------
# Tiers change with time: the scheduled review, and the check before every event


def review_reasons(customer, tier_rows: dict[int, CustomerTier], now) -> list[str]:
    """Why the customer's tiers must be re-evaluated at `now` without any earning: a tier whose
    validity ended, a manual lock that ended, or tier points that left the qualification window
    (the stored figure differs from the window's now). Empty: nothing would change."""
    reasons = []
    for structure, tiers, account_ids in structures():
        ct = tier_rows.get(structure.pk)
        if ct is None or not tiers:
            continue
        if ct.expires_at is not None and ct.expires_at <= now:
            reasons.append(f"The {structure.name} tier expired.")
        elif ct.locked and ct.locked_until is not None and ct.locked_until <= now:
            reasons.append(f"The manual {structure.name} tier lock ended.")
        elif structure.qualification_months and ct.tier_points != tier_points(
            customer, structure, account_ids, now
        ):
            reasons.append(f"Qualifying points left the {structure.name} window.")
    return reasons


def expired_rows(tier_rows: dict[int, CustomerTier] | None, now) -> bool:
    """Whether a tier or a manual lock of these rows has ended (cheap: the rows are loaded)."""
    return any(
        (ct.expires_at is not None and ct.expires_at <= now)
        or (ct.locked and ct.locked_until is not None and ct.locked_until <= now)
        for ct in (tier_rows or {}).values()
    )


def tier_review(ctx: HandlerContext) -> None:
    """Internal event of the scheduled review (`loyalty.tasks.review_tiers`): re-evaluate the
    customer's tiers now. Refused (Conflict, nothing stored) when nothing is due any more, so a
    second or concurrent run never changes or records the same customer twice."""
    reasons = review_reasons(ctx.customer, rows(ctx), ctx.now)
    if not reasons:
        raise Conflict("The customer's tiers are up to date.")
    ctx.result.notes.extend(reasons)
    evaluate(ctx)


# ---------------------------------------------------------------------------------------------
# Manual changes (console / API / workflows)


def _structure(ctx) -> tuple[TierStructure, list[Tier], list[int]]:
    if not ctx.program.tiers:
        raise ValidationError("The tiers module is off.", field="action")
    code = ctx.data.get("structure")
    for entry in structures():
        if not code or entry[0].code == code:
            return entry
    raise ValidationError(
        f"Unknown tier structure {code!r}." if code else "No tier structure exists.", field="data.structure"
    )


def _when(ctx, name):
    value = ctx.data.get(name)
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _manual(ctx, direction: str) -> None:
    structure, tiers, account_ids = _structure(ctx)
    ct = rows(ctx).get(structure.pk)
    current = ct.tier if ct else None
    code = ctx.data.get("tier")
    if code:
        target = next((t for t in tiers if t.code == code), None)
        if target is None:
            raise ValidationError(f"Unknown tier {code!r} in {structure.code!r}.", field="data.tier")
    else:
        ranks = [
            t
            for t in tiers
            if current is None
            or (t.threshold > current.threshold if direction == "up" else t.threshold < current.threshold)
        ]
        if not ranks:
            raise BusinessRuleError(f"There is no tier {direction} from here.", field="data.tier")
        target = ranks[0] if direction == "up" else ranks[-1]
    if current is not None and direction == "up" and target.threshold <= current.threshold:
        raise BusinessRuleError("Tier up needs a higher tier.", field="data.tier")
    if current is not None and direction == "down" and target.threshold >= current.threshold:
        raise BusinessRuleError("Tier down needs a lower tier.", field="data.tier")
    points = tier_points(ctx.customer, structure, account_ids, ctx.now, _ledger_balances(ctx))
    qualified = qualified_tier(tiers, points)
    if (
        structure.expiration_method == TierExpirationMethod.KEEP_HIGHEST
        and qualified is not None
        and target.threshold < qualified.threshold
    ):
        raise BusinessRuleError(
            f"With keep-highest, the customer cannot go below {qualified.name}, the tier their points reach.",
            field="data.tier",
        )
    expires_at = _when(ctx, "expiration_date") or _validity(structure, ctx.now)
    lock = ctx.data.get("lock")
    lock = True if lock is None else bool(lock)
    if ct is None:
        ct = CustomerTier(customer=ctx.customer, structure=structure)
        rows(ctx)[structure.pk] = ct
    ct.tier, ct.since, ct.expires_at = target, ctx.now, expires_at
    ct.locked, ct.locked_until = lock, (expires_at if lock else None)
    ct.tier_points = points
    ct.points_after_expiration = points_after_expiration(
        ctx.customer, structure, account_ids, expires_at, ctx.now, points
    )
    ct.save()
    ctx.result.extra["tier"] = {
        "structure": structure.code,
        "from": current.code if current else None,
        "to": target.code,
    }
    _set_customer_tier(ctx)


def tier_up(ctx: HandlerContext) -> None:
    _manual(ctx, "up")


def tier_down(ctx: HandlerContext) -> None:
    _manual(ctx, "down")


def tier_change(ctx: HandlerContext) -> None:
    _manual(ctx, "change")


def tier_expiration_change(ctx: HandlerContext) -> None:
    """Set the expiration date of the customer's current tier (every structure unless one is named)."""
    if not ctx.program.tiers:
        raise ValidationError("The tiers module is off.", field="action")
    new_date = _when(ctx, "expiration_date")
    held = list(rows(ctx).values())
    if ctx.data.get("structure"):
        structure, _, _ = _structure(ctx)
        held = [ct for ct in held if ct.structure_id == structure.pk]
    changed = 0
    for ct in held:
        ct.expires_at = new_date
        if ct.locked:
            ct.locked_until = new_date
        ct.save(update_fields=["expires_at", "locked_until"])
        changed += 1
    if not changed:
        raise BusinessRuleError("The customer has no tier to change.", field="data.structure")


def api_tiers(customer) -> list[dict]:
    """The Customer API's `tiers` array (001)."""
    rows = CustomerTier.objects.filter(customer=customer).select_related("tier", "structure")
    order = {structure.pk: index for index, (structure, _, _) in enumerate(structures())}
    return [
        {
            "id": ct.tier.code,
            "name": ct.tier.name,
            "since": ct.since.isoformat(),
            "threshold": ct.tier.threshold,
            "expdate": ct.expires_at.isoformat() if ct.expires_at else None,
            "points": ct.tier_points,
            "points_after_expiration": ct.points_after_expiration,
            "locked": ct.locked,
            "structure": [{"id": ct.structure.code, "name": ct.structure.name}],
        }
        for ct in sorted(rows, key=lambda r: order.get(r.structure_id, 0))
    ]
