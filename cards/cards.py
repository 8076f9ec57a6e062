"""Loyalty cards: handlers (card_register, card_unregister, card_transfer, card_status_change;
events.engine.HANDLERS)
and catalog operations (create one card, generate a batch, import a CSV).

Rules (reference §7.2, Talon.One):
- a code matches `^[A-Za-z0-9._%+@-]+$` (1-108 characters) and is unique per environment;
- statuses active / inactive / blocked; blocked is permanent (a transfer blocks the old card
  with its reason); a blocked card can neither be registered nor transferred;
- a card holds at most `CardSettings.users_per_card_limit` customers;
- a transfer creates the new card (an existing code is refused), moves every registration
  to it, and blocks the old one; the customers' points and history stay theirs (this engine's
  balances belong to customers, not cards);
- a batch makes at most 20,000 cards; an import is all-or-nothing;
- everything needs the loyalty-cards module; switching it off keeps the rows.
The handler runs with the customer row locked; the card row is locked too (SELECT FOR UPDATE),
so two registrations racing for the last place on a card cannot both win.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import uuid

from django.db import IntegrityError, transaction

from loyalty import clock
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, NotFound, StatusForbids, ValidationError
from loyalty.models import Program

from .choices import CardStatus
from .models import CARD_CODE_MAX, CARD_CODE_RE, CardRegistration, CardSettings, LoyaltyCard

CODE_RE = re.compile(CARD_CODE_RE)
MAX_BATCH = 20_000
MAX_IMPORT_ROWS = 100_000
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def check_module(field: str = "card") -> None:
    if not Program.current().loyalty_cards:
        raise ValidationError("The loyalty cards module is off.", field=field)


def check_code(code, field: str = "data.card") -> str:
    if not isinstance(code, str) or not code or len(code) > CARD_CODE_MAX or not CODE_RE.match(code):
        raise ValidationError(f"A card code is 1 to {CARD_CODE_MAX} of A-Z a-z 0-9 . _ % + @ -.", field=field)
    return code


def lock_card(environment: str, code: str, field: str = "data.card") -> LoyaltyCard:
    card = LoyaltyCard.objects.select_for_update().filter(environment=environment, code=code).first()
    if card is None:
        raise NotFound(f"No loyalty card {code!r}.", field=field)
    return card


# ---------------------------------------------------------------------------------------------
# Handlers


def _card(ctx: HandlerContext) -> LoyaltyCard:
    check_module("data.card")
    return lock_card(ctx.environment, check_code(ctx.data.get("card")))


def card_register(ctx: HandlerContext) -> None:
    """Register the customer to `data.card` (an existing, not blocked card with room left)."""
    card = _card(ctx)
    if card.status == CardStatus.BLOCKED:
        raise StatusForbids(f"Card {card.code!r} is blocked.", field="data.card")
    registrations = list(CardRegistration.objects.filter(card=card).values_list("customer_id", flat=True))
    if ctx.customer.pk in registrations:
        raise Conflict(f"The customer is already registered to card {card.code!r}.", field="data.card")
    limit = CardSettings.current().users_per_card_limit
    if len(registrations) >= limit:
        raise BusinessRuleError(
            f"Card {card.code!r} already has {len(registrations)} customer(s); the limit is {limit}.",
            field="data.card",
        )
    CardRegistration.objects.create(card=card, customer=ctx.customer, registered_at=ctx.now)
    ctx.result.extra["card"] = {"code": card.code, "status": card.status}


def card_unregister(ctx: HandlerContext) -> None:
    card = _card(ctx)
    deleted, _ = CardRegistration.objects.filter(card=card, customer=ctx.customer).delete()
    if not deleted:
        raise NotFound(f"The customer is not registered to card {card.code!r}.", field="data.card")
    ctx.result.extra["card"] = {"code": card.code, "status": card.status}


def card_transfer(ctx: HandlerContext) -> None:
    """Move `data.card` to a new card `data.new_card`: the new card is created active with every
    registration; the old one is blocked for good with the event's reason."""
    card = _card(ctx)
    new_code = check_code(ctx.data.get("new_card"), "data.new_card")
    if card.status == CardStatus.BLOCKED:
        raise StatusForbids(f"Card {card.code!r} is blocked.", field="data.card")
    if not CardRegistration.objects.filter(card=card, customer=ctx.customer).exists():
        raise NotFound(f"The customer is not registered to card {card.code!r}.", field="data.card")
    if LoyaltyCard.objects.filter(environment=ctx.environment, code=new_code).exists():
        raise Conflict(
            f"Card {new_code!r} exists already; a transfer needs a new card.", field="data.new_card"
        )
    reason = str(ctx.data.get("reason") or ctx.event.reason or "")
    try:
        with transaction.atomic():  # a concurrent creation of the same code loses here
            new = LoyaltyCard.objects.create(
                environment=ctx.environment,
                code=new_code,
                status=CardStatus.ACTIVE,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
    except IntegrityError:
        raise Conflict(
            f"Card {new_code!r} exists already; a transfer needs a new card.", field="data.new_card"
        ) from None
    CardRegistration.objects.filter(card=card).update(card=new)
    card.status = CardStatus.BLOCKED
    card.block_reason = reason[:1000]
    card.transferred_to = new
    card.updated_at = ctx.now
    card.save(update_fields=["status", "block_reason", "transferred_to", "updated_at"])
    ctx.result.extra["card"] = {"code": new.code, "status": new.status, "blocked": card.code}


def _new_status(status, field: str) -> str:
    if status not in CardStatus.values:
        raise ValidationError("A card status is active, inactive or blocked.", field=field)
    return status


def apply_status(card: LoyaltyCard, status: str, reason: str, now, field: str = "data.status") -> None:
    """Set a locked card's status: blocked is permanent (nothing changes a blocked card) and keeps
    `reason` as its block reason; a change to the status it has is refused."""
    status = _new_status(status, field)
    if card.status == CardStatus.BLOCKED:
        raise StatusForbids(f"Card {card.code!r} is blocked for good.", field=field)
    if card.status == status:
        raise Conflict(f"Card {card.code!r} is {status} already.", field=field)
    card.status = status
    if status == CardStatus.BLOCKED:
        card.block_reason = reason[:1000]
    card.updated_at = now
    card.save(update_fields=["status", "block_reason", "updated_at"])


def card_status_change(ctx: HandlerContext) -> None:
    """Change the status of a card the customer is registered to (`data.status`: active, inactive
    or blocked, e.g. lost or stolen; the event's reason is a blocked card's block reason)."""
    card = _card(ctx)
    if not CardRegistration.objects.filter(card=card, customer=ctx.customer).exists():
        raise NotFound(f"The customer is not registered to card {card.code!r}.", field="data.card")
    before = card.status
    apply_status(card, ctx.data.get("status"), str(ctx.data.get("reason") or ctx.event.reason or ""), ctx.now)
    ctx.result.extra["card"] = {"code": card.code, "status": card.status, "before": before}


# ---------------------------------------------------------------------------------------------
# Catalog operations (no customer state)


def set_unregistered_status(environment: str, code: str, status, reason: str = "") -> LoyaltyCard:
    """The status of a card nobody is registered to (no customer state, so no event; the API's
    PUT /api/cards/{code}). A registered card changes through the `card_status_change` event."""
    check_module("card")
    with transaction.atomic():
        card = lock_card(environment, code, "card")
        if CardRegistration.objects.filter(card=card).exists():
            raise Conflict("The card has customers: change it through card_status_change.", field="card")
        apply_status(card, status, reason, clock.now(), field="status")
    return card


def create_card(
    environment: str, code: str, *, status: str = CardStatus.ACTIVE, batch_id: str = ""
) -> LoyaltyCard:
    check_module("code")
    check_code(code, "code")
    if status not in (CardStatus.ACTIVE, CardStatus.INACTIVE):
        raise ValidationError("A new card is active or inactive.", field="status")
    now = clock.now()
    try:
        with transaction.atomic():
            return LoyaltyCard.objects.create(
                environment=environment,
                code=code,
                status=status,
                batch_id=batch_id,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        raise Conflict(f"Card {code!r} exists already.", field="code") from None


def random_code(settings: CardSettings) -> str:
    return settings.code_prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(settings.code_length))


def generate_batch(environment: str, count, *, status: str = CardStatus.ACTIVE) -> tuple[str, list[str]]:
    """Create `count` (1..20,000) cards with random codes in the program's format; (batch ID, codes)."""
    check_module("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_BATCH:
        raise ValidationError(f"A batch makes 1 to {MAX_BATCH} cards.", field="count")
    if status not in (CardStatus.ACTIVE, CardStatus.INACTIVE):
        raise ValidationError("New cards are active or inactive.", field="status")
    settings = CardSettings.current()
    if len(CODE_ALPHABET) ** settings.code_length < count * 1000:
        raise ValidationError("The code length is too short for that many cards.", field="count")
    check_code(random_code(settings), "count")
    batch_id = uuid.uuid4().hex[:12]
    now = clock.now()
    made: list[str] = []
    with transaction.atomic():
        for _attempt in range(20):
            wanted = count - len(made)
            if wanted <= 0:
                break
            batch = {random_code(settings) for _ in range(wanted)} - set(made)
            taken = set(
                LoyaltyCard.objects.filter(environment=environment, code__in=batch).values_list(
                    "code", flat=True
                )
            )
            fresh = sorted(batch - taken)
            LoyaltyCard.objects.bulk_create(
                [
                    LoyaltyCard(
                        environment=environment,
                        code=code,
                        status=status,
                        batch_id=batch_id,
                        created_at=now,
                        updated_at=now,
                    )
                    for code in fresh
                ],
                batch_size=2000,
            )
            made.extend(fresh)
        if len(made) < count:
            raise Conflict("Could not find enough unused codes; make the codes longer.", field="count")
    return batch_id, made


def import_cards(environment: str, text: str) -> int:
    """Create cards from CSV text with the header `identifier` (and optionally `status`): all rows
    or none. Errors name the line. Returns the number of cards created."""
    check_module("file")
    if "\x00" in text:
        raise ValidationError("The file contains NUL characters.", field="file")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "identifier" not in [name.strip().lower() for name in reader.fieldnames]:
        raise ValidationError("The CSV needs an 'identifier' column.", field="file")
    now = clock.now()
    cards, seen = [], set()
    for line, row in enumerate(reader, start=2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        code = row.get("identifier", "")
        try:
            check_code(code, "file")
        except ValidationError as error:
            raise ValidationError(f"Line {line}: {error.message}", field="file") from None
        status = row.get("status") or CardStatus.ACTIVE
        if status not in (CardStatus.ACTIVE, CardStatus.INACTIVE):
            raise ValidationError(f"Line {line}: status is active or inactive.", field="file")
        if code in seen:
            raise ValidationError(f"Line {line}: card {code!r} appears twice.", field="file")
        seen.add(code)
        cards.append(
            LoyaltyCard(environment=environment, code=code, status=status, created_at=now, updated_at=now)
        )
        if len(cards) > MAX_IMPORT_ROWS:
            raise ValidationError(f"At most {MAX_IMPORT_ROWS} cards per import.", field="file")
    if not cards:
        raise ValidationError("The file has no cards.", field="file")
    with transaction.atomic():
        existing = set(
            LoyaltyCard.objects.filter(environment=environment, code__in=list(seen)).values_list(
                "code", flat=True
            )
        )
        if existing:
            raise Conflict(
                f"{len(existing)} card(s) exist already, e.g. {sorted(existing)[0]!r}.", field="file"
            )
        try:
            with transaction.atomic():
                LoyaltyCard.objects.bulk_create(cards, batch_size=2000)
        except IntegrityError:
            raise Conflict("Some cards were created meanwhile; nothing was imported.", field="file") from None
    return len(cards)
