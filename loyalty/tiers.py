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
- entering the lowest tier (threshold 0) creates the membership without a tier_up event;
- a manual tier_remove deletes the membership; the next evaluation places the customer again.
Customer.tier mirrors the first structure's tier (the customer list column).
"""

from __future__ import annotations

import copy
import datetime as dt

from django.db.models import Min, Q, Sum

from customers.models import Customer
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, ValidationError
from loyalty.ledger.expiration import add_months

from . import clock, configcache
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
    return _window(customer, account_ids, since, balances)[0]


def _window(
    customer, account_ids, since: dt.datetime | None, balances=None
) -> tuple[int, dt.datetime | None]:
    """(tier points earned since `since`, the earliest such entry's time or None); one query."""
    if since is None:
        if balances is not None:  # the engine's locked rows: every balance row of the customer
            earned = sum(
                b.earned for b in balances.values() if not account_ids or b.account_id in account_ids
            )
            return earned, None
        rows = PointBalance.objects.filter(customer=customer)
        if account_ids:
            rows = rows.filter(account_id__in=account_ids)
        return rows.aggregate(total=Sum("earned"))["total"] or 0, None
    entries = LedgerEntry.objects.filter(customer=customer, kind__in=EARNING_KINDS, created_at__gte=since)
    if account_ids:
        entries = entries.filter(account_id__in=account_ids)
    found = entries.aggregate(total=Sum("amount"), first=Min("created_at"))
    return found["total"] or 0, found["first"]


def tier_points(customer, structure, account_ids, now, balances=None) -> int:
    return window_points(customer, structure, account_ids, now, balances)[0]


def window_points(customer, structure, account_ids, now, balances=None) -> tuple[int, dt.datetime | None]:
    """(tier points at `now`, when the first of them leaves the qualification window or None)."""
    months = structure.qualification_months
    points, first = _window(customer, account_ids, add_months(now, -months) if months else None, balances)
    # add_months clips to the month's end, so this is at or before the real exit: a review
    # that comes early re-checks and finds nothing, one that came late would show a stale tier.
    return points, (add_months(first, months) if first is not None else None)


def next_review(ct: CustomerTier, leaves_window: dt.datetime | None) -> dt.datetime | None:
    """The earliest moment the row can change without any earning: its expiration, the end of its
    manual lock, or the first tier point leaving the qualification window. Stored as `review_at`;
    before it the stored row is the customer's tier, from it readers compute it (effective_rows)
    and the hourly review (loyalty.tasks.review_tiers) registers the change."""
    moments = [ct.expires_at, ct.locked_until if ct.locked else None, leaves_window]
    return min((m for m in moments if m is not None), default=None)


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


def decide(structure, tiers: list[Tier], ct: CustomerTier, points: int, now) -> list[tuple]:
    """Apply the tier rules (module docstring) to an existing row at `now` with `points` tier
    points: changes `ct` in place (not saved) and returns the events it implies as
    [(action, tier, previous tier, reason)]. The one decision used by evaluate() (which stores it)
    and effective_rows() (which only reads it), so every reader agrees with the next evaluation."""
    qualified = qualified_tier(tiers, points)
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
        return [("tier_up", qualified, current, "")]
    if (qualified is None or qualified.threshold < current.threshold) and not _locked(ct, now):
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
            reason = (
                f"The {current.name} tier expired and {points} tier points qualify for {target.name}."
                if expired
                else f"{points} tier points no longer reach {current.name}."
            )
            return [("tier_down", target, current, reason)]
    elif expired and not _locked(ct, now):
        ct.expires_at = _validity(structure, now)  # re-qualified for the same tier
    return []


def _figures(customer, structure, account_ids, ct, points, leaves, now) -> None:
    ct.tier_points = points
    ct.points_after_expiration = points_after_expiration(
        customer, structure, account_ids, ct.expires_at, now, points
    )
    ct.review_at = next_review(ct, leaves)


def evaluate(ctx: HandlerContext) -> None:
    """Re-evaluate every tier structure after earned points changed (automatic tier up/down)."""
    now = ctx.now
    for structure, tiers, account_ids in structures():
        if not tiers:
            continue
        points, leaves = window_points(ctx.customer, structure, account_ids, now, _ledger_balances(ctx))
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
            for action, tier, previous, reason in decide(structure, tiers, ct, points, now):
                _emit(ctx, action, structure, tier, previous, reason)
        _figures(ctx.customer, structure, account_ids, ct, points, leaves, now)
        ct.save()
    _set_customer_tier(ctx)


# ---------------------------------------------------------------------------------------------
# The effective tier: what every reader shows (API, console, segments, exports)


def effective_rows(
    customer, now, tier_rows: dict[int, CustomerTier] | None = None
) -> dict[int, CustomerTier]:
    """{structure id: the customer's tier row as it is at `now`}. A stored row whose `review_at`
    has not come is current; a due one (expired, lock ended, points left the window, and the
    hourly review has not run yet) is recomputed with decide() on a copy, nothing stored. So the
    Customer API, the console, segments and exports agree at every moment with what the next
    event or review will store (docs/ledger.md, "Tiers change with time")."""
    held = load_rows(customer) if tier_rows is None else tier_rows
    out = {}
    for structure, tiers, account_ids in structures():
        ct = held.get(structure.pk)
        if ct is None:
            continue
        if not expired_rows({structure.pk: ct}, now) or not tiers:
            out[structure.pk] = ct
            continue
        current = copy.copy(ct)
        points, leaves = window_points(customer, structure, account_ids, now)
        decide(structure, tiers, current, points, now)
        _figures(customer, structure, account_ids, current, points, leaves, now)
        out[structure.pk] = current
    return out


def due_rows(
    now, structure_pk: int | None = None, customer_pks=None, environment: str | None = None
) -> dict[tuple[int, int], CustomerTier]:
    """{(customer id, structure id): effective row} of the rows due for review at `now` (few: the
    hourly review clears them), for the readers that filter or list many customers at once."""
    due = CustomerTier.objects.filter(review_at__lte=now)
    if environment is not None:
        due = due.filter(customer__environment=environment)
    if structure_pk is not None:
        due = due.filter(structure_id=structure_pk)
    if customer_pks is not None:
        due = due.filter(customer_id__in=list(customer_pks))
    out: dict[tuple[int, int], CustomerTier] = {}
    for customer_pk in sorted(set(due.values_list("customer_id", flat=True))):
        customer = Customer(pk=customer_pk)
        for structure_pk_, ct in effective_rows(customer, now).items():
            if structure_pk is None or structure_pk_ == structure_pk:
                out[(customer_pk, structure_pk_)] = ct
    return out


def effective_tier_customers(
    now, tier_pks, structure_pk: int | None = None, environment: str | None = None
) -> Q:
    """A Q on Customer: customers whose effective tier (in `structure_pk`, or in any structure) is
    one of `tier_pks` at `now` — stored rows not due, plus due rows recomputed (due_rows)."""
    tier_pks = list(tier_pks)
    due = due_rows(now, structure_pk, environment=environment)
    stored = CustomerTier.objects.filter(
        Q(review_at__isnull=True) | Q(review_at__gt=now), tier_id__in=tier_pks
    )
    if structure_pk is not None:
        stored = stored.filter(structure_id=structure_pk)
    now_in = [customer_pk for (customer_pk, _), ct in due.items() if ct.tier_id in tier_pks]
    return Q(pk__in=stored.values("customer_id")) | Q(pk__in=now_in)


def first_structure_tiers(customers, now) -> dict[int, Tier]:
    """{customer pk: effective tier in the first structure} for the customers given (the customer
    list's Tier column); only due rows cost a query."""
    first = structures()[0][0] if structures() else None
    if first is None:
        return {}
    pks = [c.pk for c in customers]
    due = due_rows(now, first.pk, pks)
    return {pk: ct.tier for (pk, _), ct in due.items()}


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


def refresh_review_at(customer, tier_rows: dict[int, CustomerTier], now) -> None:
    """Move `review_at` of rows that were due but had nothing to change (review_reasons empty)
    to their next moment. review_at is derived scheduling data, not loyalty state: no event."""
    for structure, _, account_ids in structures():
        ct = tier_rows.get(structure.pk)
        if ct is None or ct.review_at is None or ct.review_at > now:
            continue
        review_at = next_review(ct, window_points(customer, structure, account_ids, now)[1])
        CustomerTier.objects.filter(pk=ct.pk).update(review_at=review_at)
        ct.review_at = review_at


def expired_rows(tier_rows: dict[int, CustomerTier] | None, now) -> bool:
    """Whether a row is due (review_at: its tier or manual lock ended, or tier points left the
    window), so the engine re-evaluates before the handler (cheap: the rows are loaded)."""
    return any(
        (ct.review_at is not None and ct.review_at <= now)
        or (ct.expires_at is not None and ct.expires_at <= now)
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
    points, leaves = window_points(ctx.customer, structure, account_ids, ctx.now, _ledger_balances(ctx))
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
    _figures(ctx.customer, structure, account_ids, ct, points, leaves, ctx.now)
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


def tier_remove(ctx: HandlerContext) -> None:
    """Take the customer out of a tier structure (`data.structure`, else the first one): their
    membership row is deleted, so the customer has no tier there (Customer.tier follows for the
    first structure) and nothing is locked. The next evaluation (an event that changes earned
    points) places them again by their tier points, as for a new member: the lowest tier quietly,
    a higher one with a tier_up. The reference's "Remove tier" workflow action; its event name is
    ours (GAP in the reference), after tier_change.

    `data.tier` (optional) names the tier removed: the event then reads as what it did, and it is
    refused when the customer holds another tier by then (a console page read before a change).

    Errors: ValidationError (the module off, an unknown structure), BusinessRuleError on
    `data.structure` when the customer holds no tier in it, on `data.tier` when it holds another
    one (nothing is stored).
    Result: `result.extra["tier"] = {"structure", "from": the removed tier's code, "to": None}`."""
    structure, _, _ = _structure(ctx)
    ct = rows(ctx).get(structure.pk)
    if ct is None:
        raise BusinessRuleError(f"The customer has no tier in {structure.name}.", field="data.structure")
    removed = ct.tier
    wanted = ctx.data.get("tier")
    if wanted and wanted != removed.code:
        raise BusinessRuleError(
            f"The customer's tier in {structure.name} is {removed.code!r}, not {wanted!r}.", field="data.tier"
        )
    ct.delete()
    del rows(ctx)[structure.pk]
    ctx.result.extra["tier"] = {"structure": structure.code, "from": removed.code, "to": None}
    _set_customer_tier(ctx)


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
    by_pk = {structure.pk: (structure, account_ids) for structure, _, account_ids in structures()}
    for ct in held:
        ct.expires_at = new_date
        if ct.locked:
            ct.locked_until = new_date
        structure, account_ids = by_pk[ct.structure_id]
        ct.review_at = next_review(ct, window_points(ctx.customer, structure, account_ids, ctx.now)[1])
        ct.save(update_fields=["expires_at", "locked_until", "review_at"])
        changed += 1
    if not changed:
        raise BusinessRuleError("The customer has no tier to change.", field="data.structure")


def api_tiers(customer, now=None) -> list[dict]:
    """The Customer API's `tiers` array (001), as it is at `now` (effective_rows)."""
    held = {
        ct.structure_id: ct
        for ct in CustomerTier.objects.filter(customer=customer).select_related("tier", "structure")
    }
    rows = effective_rows(customer, now or clock.now(customer.environment), held).values()
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
