"""Import segments (000, "Import segments"; reference-behaviour.md §2.3): a static segment from a
CSV of customer IDs, with a report of the rows that matched no customer.

File format: UTF-8 (a BOM is allowed), comma-separated, a header row whose first column is
``customer_id`` (values are customer IDs, or ``field:value`` external IDs) or the name of a custom
field tagged external ID (values are that field's values). Further columns are ignored. At most
MAX_BYTES; a wrong header, another encoding or an unreadable file is an `ImportFailed` naming the
row, and nothing is created. Matching runs in batches of indexed IN lookups.
"""

from __future__ import annotations

import csv
import io

from django.db import transaction

from customers.fields import external_id_fields
from customers.models import Customer, ExternalId
from loyalty import clock

from .building import refresh_statistics
from .models import Segment, SegmentImport, SegmentKind, SegmentMember

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 200_000
BATCH = 2000
REPORT_LIMIT = 1000


class ImportFailed(ValueError):
    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.message = message
        self.field = field


def read_rows(raw: bytes) -> tuple[str, list[str]]:
    """(header column, first-column values) of the file; ImportFailed for anything unreadable."""
    if len(raw) > MAX_BYTES:
        raise ImportFailed(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ImportFailed(f"Row {line}: the file is not UTF-8 text.") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportFailed(f"Row {line}: the file contains a NUL character (not a CSV file).")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if not header or not header[0].strip():
            raise ImportFailed("Row 1: the header is missing (customer_id or an external-ID field name).")
        column = header[0].strip()
        if column != "customer_id" and column not in external_id_fields():
            raise ImportFailed(
                f"Row 1: the first column is {column[:50]!r}; use customer_id or an external-ID field name."
            )
        values = []
        for number, row in enumerate(reader, start=2):
            if len(values) >= MAX_ROWS:
                raise ImportFailed(f"Row {number}: at most {MAX_ROWS} rows.")
            values.append(row[0].strip() if row else "")
    except csv.Error as error:
        raise ImportFailed(f"Row {reader.line_num}: {error}.") from None
    return column, values


def _match(environment: str, column: str, values: list[str]) -> dict[str, int]:
    """{value: customer pk} for the values that name a customer (one query per batch)."""
    found: dict[str, int] = {}
    plain = [v for v in values if v and (column != "customer_id" or ":" not in v)]
    refs = [v for v in values if column == "customer_id" and ":" in v]
    for start in range(0, len(plain), BATCH):
        batch = plain[start : start + BATCH]
        if column == "customer_id":
            rows = Customer.objects.filter(
                environment=environment, customer_id__in=batch, anonymized_at__isnull=True
            ).values_list("customer_id", "pk")
        else:
            rows = ExternalId.objects.filter(
                environment=environment, field=column, value__in=batch
            ).values_list("value", "customer_id")
        found.update(rows)
    fields = external_id_fields()
    for ref in refs:
        field, _, value = ref.partition(":")
        if field in fields:
            pk = (
                ExternalId.objects.filter(environment=environment, field=field, value=value)
                .values_list("customer_id", flat=True)
                .first()
            )
            if pk is not None:
                found[ref] = pk
    return found


def import_segment(*, name: str, raw: bytes, file_name: str, environment: str, user=None) -> SegmentImport:
    """Create a static segment of the matched customers and return its import report."""
    column, values = read_rows(raw)
    if not values:
        raise ImportFailed("The file has a header but no rows.")
    found = _match(environment, column, values)
    unmatched = []
    for number, value in enumerate(values, start=2):
        if value not in found:
            unmatched.append(
                {"row": number, "value": value[:300], "error": "no customer" if value else "empty"}
            )
    now = clock.now()
    with transaction.atomic():
        segment = Segment.objects.create(
            name=name,
            kind=SegmentKind.STATIC,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            last_built_at=now,
        )
        pks = sorted(set(found.values()))
        SegmentMember.objects.bulk_create(
            [SegmentMember(segment=segment, customer_id=pk, entered_at=now) for pk in pks], batch_size=BATCH
        )
        Segment.objects.filter(pk=segment.pk).update(member_count=len(pks), build_seconds=0)
        report = SegmentImport.objects.create(
            segment=segment,
            file_name=file_name[:300],
            rows=len(values),
            matched=len(values) - len(unmatched),
            unmatched=unmatched[:REPORT_LIMIT],
            created_by=segment.created_by,
        )
    refresh_statistics(len(pks))
    return report
