"""CSV import of referral codes (reference §7.3, Talon.One `import_referrals`): each row becomes a
`referral_code_create` event of its advocate, all rows or none.

Columns (header, case-insensitive, the reference's names): `code` (required),
`advocateprofileintegrationid` (required: the advocate's customer ID, `field:value` or
`card:<code>`), `startdate`, `expirydate` (ISO 8601; empty: none / the program's validity),
`limitval` (usage limit; empty: 1, as the reference; 0 = unlimited). Other columns (the
reference's `attributes`) are refused by name, so nothing is silently dropped.

Every row is checked first (format, dates, limit, a code twice in the file); then the events are
registered in one transaction: an engine refusal (an unknown advocate, a code that exists) names
its line and rolls back every code of the file. At most MAX_ROWS rows per file."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.db import transaction

from events.choices import EventSource
from events.engine import register_event
from loyalty.bounds import is_digits
from loyalty.errors import EngineError, ValidationError

from .referrals import MAX_USAGE_LIMIT, check_code

MAX_ROWS = 10_000
COLUMNS = {"code", "advocateprofileintegrationid", "startdate", "expirydate", "limitval"}
REQUIRED = ("code", "advocateprofileintegrationid")


def _date(value: str, line: int, name: str) -> str | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"Line {line}: {name} is not an ISO 8601 date.", field="file") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).isoformat()


def parse(text: str) -> list[tuple[int, str, dict]]:
    """[(line, advocate, referral_code_create data)] or a ValidationError naming the line."""
    if "\x00" in text:
        raise ValidationError("The file contains NUL characters.", field="file")
    reader = csv.DictReader(io.StringIO(text))
    header = [str(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ValidationError(f"The CSV needs the column(s) {', '.join(missing)}.", field="file")
    unknown = sorted(set(header) - COLUMNS)
    if unknown:
        raise ValidationError(f"Unknown column(s): {', '.join(unknown)}.", field="file")
    rows, seen = [], set()
    for line, raw in enumerate(reader, start=2):
        if None in raw:
            raise ValidationError(f"Line {line}: more cells than columns.", field="file")
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            code = check_code(row["code"], "file")
        except ValidationError as error:
            raise ValidationError(f"Line {line}: {error.message}", field="file") from None
        if code.upper() in seen:
            raise ValidationError(f"Line {line}: code {code!r} appears twice.", field="file")
        seen.add(code.upper())
        advocate = row["advocateprofileintegrationid"]
        if not advocate:
            raise ValidationError(f"Line {line}: the advocate is missing.", field="file")
        limit_text = row.get("limitval", "")
        if limit_text and not is_digits(limit_text):
            raise ValidationError(f"Line {line}: limitval is a whole number.", field="file")
        limit = int(limit_text) if limit_text else 1
        if limit > MAX_USAGE_LIMIT:
            raise ValidationError(f"Line {line}: limitval is at most {MAX_USAGE_LIMIT}.", field="file")
        data = {"code": code, "usage_limit": limit}
        for column, name in (("startdate", "start_date"), ("expirydate", "expiry_date")):
            value = _date(row.get(column, ""), line, column)
            if value is not None:
                data[name] = value
        rows.append((line, advocate, data))
        if len(rows) > MAX_ROWS:
            raise ValidationError(f"At most {MAX_ROWS} referral codes per file.", field="file")
    if not rows:
        raise ValidationError("The file has no referral codes.", field="file")
    return rows


def import_codes(
    environment: str, text: str, *, source: str = EventSource.PLATFORM, admin_user=None, reason=""
):
    """Create every code of the CSV `text` (see the module docstring); returns how many."""
    rows = parse(text)
    with transaction.atomic():
        for line, advocate, data in rows:
            try:
                register_event(
                    environment=environment,
                    customer=advocate,
                    action="referral_code_create",
                    data=data,
                    source=source,
                    admin_user=admin_user,
                    reason=reason,
                )
            except EngineError as error:
                raise ValidationError(f"Line {line}: {error.message}", field="file") from None
    return len(rows)
