"""The customer's point transaction log (Talon.One's ledger transaction log): read-only queries
for the console's Loyalty points tab, its CSV export and the API. Writes happen in the ledger.

A *ledger* is a program account (its main ledger) or one of the customer's subledgers. A log
row is a ledger entry other than the activation of pending points (the addition already shows
its "active on" date): additions (earn, pending, unspend, release, merge in) and subtractions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from loyalty.models import LedgerEntry, PointAccount, PointBalance, Program
from loyalty.models.ledger import EntryKind

from .accounts import account_by_id, all_accounts, default_account

ALL = "all"
HIDDEN_KINDS = (EntryKind.ACTIVATE,)
ADDITIONS = (EntryKind.EARN, EntryKind.PENDING, EntryKind.UNSPEND, EntryKind.RELEASE, EntryKind.MERGE_IN)
MANUAL = "manual"

# Talon.One's export_log columns (reference §7.5), in its order.
EXPORT_COLUMNS = [
    "customerprofileid",
    "customersessionid",
    "rulesetid",
    "rulename",
    "programid",
    "type",
    "name",
    "subledgerid",
    "startdate",
    "expirydate",
    "id",
    "created",
    "amount",
    "archived",
    "campaignid",
    "flags",
    "transactionUUID",
]
# Date formats offered by the export (all timestamps UTC, as 003 says).
DATE_FORMATS = {
    "iso8601": ("ISO 8601 (2024-10-12T07:20:50Z)", "%Y-%m-%dT%H:%M:%SZ"),
    "ymd": ("YYYY-MM-DD HH:MM:SS", "%Y-%m-%d %H:%M:%S"),
    "dmy": ("DD/MM/YYYY HH:MM:SS", "%d/%m/%Y %H:%M:%S"),
    "mdy": ("MM/DD/YYYY HH:MM:SS", "%m/%d/%Y %H:%M:%S"),
}


@dataclass(frozen=True)
class Ledger:
    """One choice of the Ledger select: a program account or a subledger (value `code` or
    `account/subledger`)."""

    value: str
    label: str
    account: PointAccount

    @property
    def is_subledger(self) -> bool:
        return self.account.owner_id is not None


def ledgers(customer) -> list[Ledger]:
    """The customer's ledgers: program accounts (all when multi-accounts is on, else the
    default one), then the customer's subledgers."""
    program = Program.current()
    accounts = all_accounts() if program.multi_accounts else [default_account()]
    choices = [Ledger(a.code, a.name + (" (main ledger)" if a.is_default else ""), a) for a in accounts]
    for sub in PointAccount.objects.filter(owner=customer).order_by("code"):
        parent = account_by_id(sub.parent_id) if sub.parent_id else default_account()
        choices.append(Ledger(f"{parent.code}/{sub.code}", f"{parent.name} › {sub.code}", sub))
    return choices


def pick(customer, value: str | None) -> tuple[list[Ledger], Ledger | None]:
    """(all ledgers, the chosen one or None for "All ledgers"). Unknown values: the main ledger."""
    choices = ledgers(customer)
    if value == ALL:
        return choices, None
    for ledger in choices:
        if ledger.value == value:
            return choices, ledger
    main = next((ledger for ledger in choices if ledger.account.is_default), choices[0])
    return choices, main


def figures(customer, chosen: Ledger | None, choices: list[Ledger]) -> dict:
    """Current pending and active points of the chosen ledger (or of all)."""
    ids = [chosen.account.pk] if chosen else [ledger.account.pk for ledger in choices]
    rows = PointBalance.objects.filter(customer=customer, account_id__in=ids).values_list(
        "pending", "spendable"
    )
    return {"pending": sum(r[0] for r in rows), "active": sum(r[1] for r in rows)}


def entries(customer, chosen: Ledger | None):
    """The log rows of one ledger (or all), newest first; page them by id."""
    qs = (
        LedgerEntry.objects.filter(customer=customer)
        .exclude(kind__in=HIDDEN_KINDS)
        .select_related("event", "lot")
        .order_by("-id")
    )
    if chosen is not None:
        qs = qs.filter(account_id=chosen.account.pk)
    return qs


def session_of(entry) -> str:
    """The transaction ("session") the entry came from, or "manual" for a console change."""
    event = entry.event
    if event.transaction_id:
        return event.transaction_id
    if event.source == "platform":
        return MANUAL
    return ""


def reason_of(entry) -> str:
    event = entry.event
    return event.reason or event.label or event.action


def ledger_name(entry) -> str:
    account = account_by_id(entry.account_id)
    if account.owner_id is None:
        return account.code
    parent = account_by_id(account.parent_id) if account.parent_id else default_account()
    return f"{parent.code}/{account.code}"


def export_rows(customer, *, after: dt.datetime, before: dt.datetime | None, date_format: str):
    """Rows (lists, EXPORT_COLUMNS order) of the customer's log between `after` and `before`,
    oldest first, timestamps in UTC in `date_format` (a DATE_FORMATS key)."""
    pattern = DATE_FORMATS[date_format][1]

    def when(value):
        return value.astimezone(dt.UTC).strftime(pattern) if value else ""

    qs = (
        LedgerEntry.objects.filter(customer=customer, created_at__gte=after)
        .exclude(kind__in=HIDDEN_KINDS)
        .select_related("event", "lot")
        .order_by("id")
    )
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    for entry in qs.iterator(chunk_size=2000):
        account = account_by_id(entry.account_id)
        main = account_by_id(account.parent_id) if account.parent_id else account
        lot = entry.lot if entry.kind in ADDITIONS else None
        start = ""
        if lot is not None:
            start = (
                when(lot.activates_at)
                if lot.activates_at and lot.activates_at > entry.created_at
                else "immediate"
            )
        expiry = ""
        if lot is not None:
            expiry = when(lot.expires_at) if lot.expires_at else "unlimited"
        yield [
            customer.customer_id,
            session_of(entry) if session_of(entry) != MANUAL else "",
            "",
            entry.event.action,
            main.code,
            "addition" if entry.amount >= 0 and entry.kind in ADDITIONS else "subtraction",
            _cell(reason_of(entry)),
            account.code if account.owner_id else "",
            start,
            expiry,
            entry.pk,
            when(entry.created_at),
            entry.amount,
            "false",
            "",
            "{}",
            str(entry.event_id),
        ]


def _cell(text: str) -> str:
    """Free text that a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_csv(customer, *, after, before, date_format):
    """The CSV lines (header first) of export_rows, streamed: no row limit, no truncation."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in export_rows(customer, after=after, before=before, date_format=date_format):
        writer.writerow(row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
