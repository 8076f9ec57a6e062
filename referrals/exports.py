"""The referral codes export (reference §7.3: Talon.One export_referrals columns)."""

from __future__ import annotations

import csv
import io

from .models import ReferralCode

COLUMNS = [
    "code",
    "advocateprofileintegrationid",
    "startdate",
    "expirydate",
    "limitval",
    "usagecounter",
    "created",
]


def export_codes(environment: str):
    """CSV lines (header first), streamed in id order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    rows = ReferralCode.objects.filter(environment=environment).select_related("advocate").order_by("id")
    for row in rows.iterator(chunk_size=2000):
        writer.writerow(
            [
                row.code,
                row.advocate.customer_id,
                row.start_at.isoformat() if row.start_at else "",
                row.expires_at.isoformat() if row.expires_at else "",
                row.usage_limit,
                row.usage_counter,
                row.created_at.isoformat(),
            ]
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
