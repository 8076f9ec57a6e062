"""The loyalty cards export (reference §7.2: Talon.One `GET .../cards/export` columns identifier,
created, status, userpercardlimit, customerprofileids, blockreason, generated, batchid,
attributes). Timestamps in UTC in a `loyalty.ledger.log.DATE_FORMATS` format; streamed in id
order, no row limit. Cards have no custom attributes here: `attributes` is always `{}`."""

from __future__ import annotations

import csv
import datetime as dt
import io

from loyalty.ledger.log import DATE_FORMATS

from .models import CardRegistration, CardSettings, LoyaltyCard

COLUMNS = [
    "identifier",
    "created",
    "status",
    "userpercardlimit",
    "customerprofileids",
    "blockreason",
    "generated",
    "batchid",
    "attributes",
]


def cards(environment: str, *, batch_id: str = "", created_after=None, created_before=None):
    rows = LoyaltyCard.objects.filter(environment=environment)
    if batch_id:
        rows = rows.filter(batch_id=batch_id)
    if created_after is not None:
        rows = rows.filter(created_at__gte=created_after)
    if created_before is not None:
        rows = rows.filter(created_at__lt=created_before)
    return rows.order_by("id")


def _cell(text: str) -> str:
    """Free text a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_csv(environment: str, *, date_format: str = "iso8601", **filters):
    """CSV lines, header first. `customerprofileids` lists the registered customers' IDs
    (semicolon-separated); `generated` is true for cards made by a batch."""
    pattern = DATE_FORMATS[date_format][1]
    limit = CardSettings.current().users_per_card_limit
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    chunk: list[LoyaltyCard] = []

    def flush():
        profiles: dict[int, list[str]] = {}
        for card_id, customer_id in (
            CardRegistration.objects.filter(card__in=[c.pk for c in chunk])
            .order_by("registered_at", "id")
            .values_list("card_id", "customer__customer_id")
        ):
            profiles.setdefault(card_id, []).append(customer_id)
        for card in chunk:
            writer.writerow(
                [
                    card.code,
                    card.created_at.astimezone(dt.UTC).strftime(pattern),
                    card.status,
                    limit,
                    ";".join(profiles.get(card.pk, [])),
                    _cell(card.block_reason),
                    "true" if card.batch_id else "false",
                    card.batch_id,
                    "{}",
                ]
            )
        chunk.clear()

    for card in cards(environment, **filters).iterator(chunk_size=2000):
        chunk.append(card)
        if len(chunk) >= 2000:
            flush()
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    flush()
    yield buffer.getvalue()
