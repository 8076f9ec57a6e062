"""Exports: customers, events, transactions with items, coupons and the points ledger, as CSV,
JSON or XLSX, written row by row to a temporary file and then to the default storage (constant
memory: one query streamed through a server-side cursor in chunks of CHUNK rows, plus one query
per chunk and per related table).

- customers: the filter bar's query (`params["query"]`: the customer list's own query string, so
  `f=` conditions, `segment=`, `list=`, status... select exactly the rows the list shows), columns
  chosen from `customer_columns()`: attributes, custom fields (`custom.<name>`), balances per
  account (`balance.<account>`), tiers per structure (`tier.<structure>`), labels.
- events: `actions` (list), `date_from` / `date_to` (registration time, UTC), `customer` (ID).
- transactions: one row per item (a transaction without items: one row), `date_from` / `date_to`.
- coupons: `pool` (id), `status`.
- ledger (the points transaction log): `date_from` / `date_to`, `account`.
Timestamps are UTC; `date_format` is "iso" (default) or one of DATE_FORMATS.
Files expire after DATAIO_EXPORT_DAYS days (default 7): `expire()` deletes them, the row stays.
Repeated exports (`repeat` daily / weekly at `repeat_time`, UTC) keep each run as a child row.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Q
from django.http import QueryDict
from django_q.tasks import async_task

from coupons.models import Coupon
from customers.fields import custom_fields
from customers.filtersets import CustomerFilterSet
from customers.models import BUILTIN_ATTRIBUTES, Customer
from events.models import Event
from loyalty import clock
from loyalty.bounds import is_digits
from loyalty.ledger.accounts import account_by_id
from loyalty.models import LedgerEntry, PointAccount, PointBalance, Program
from loyalty.models.tiers import CustomerTier, TierStructure
from loyalty.tiers import due_rows
from loyalty.tiers import structures as tier_structures
from transactions.models import Transaction, TransactionItem

from . import formats, jobs
from .choices import ExportModel, ExportStatus, FileFormat, JobKind, JobStatus, Repeat
from .customer_copy import CustomerCopy
from .models import DataExport, Job

log = logging.getLogger("loyalty.dataio")
CHUNK = 10_000
DATE_FORMATS = {"iso": None, "ymd_hms": "%Y-%m-%d %H:%M:%S", "dmy_hms": "%d/%m/%Y %H:%M:%S", "unix": "unix"}
DEFAULT_CUSTOMER_COLUMNS = [
    "customer_id",
    "status",
    "email",
    "first_name",
    "last_name",
    "score",
    "spendable",
    "tier",
    "labels",
    "created_at",
]
CUSTOMER_PLAIN = [
    "customer_id",
    "status",
    *BUILTIN_ATTRIBUTES,
    "score",
    "spent",
    "spendable",
    "pending",
    "reserved",
    "expired",
    "purchase_total",
    "purchase_count",
    "optin_at",
    "last_login_at",
    "last_activity_at",
    "created_at",
    "updated_at",
]


class ExportProblem(ValueError):
    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message, self.field = message, field


def customer_columns() -> list[str]:
    columns = list(CUSTOMER_PLAIN) + ["tier", "labels"]
    columns += [f"custom.{name}" for name in custom_fields()]
    columns += [
        f"balance.{code}" for code in PointAccount.objects.order_by("id").values_list("code", flat=True)
    ]
    columns += [
        f"tier.{code}" for code in TierStructure.objects.order_by("id").values_list("code", flat=True)
    ]
    return columns


def customer_queryset(environment: str, query: str):
    """The customers the console's list shows for `query` (its query string), or ExportProblem."""
    filterset = CustomerFilterSet(
        QueryDict(query or ""),
        queryset=Customer.objects.filter(environment=environment),
        segments_enabled=Program.current().segments,
    )
    if not filterset.is_valid():
        raise ExportProblem(f"The filter is not valid: {filterset.errors.as_text()[:300]}", field="query")
    return filterset.visible(filterset.qs)


def chunk_rows() -> int:
    """Rows per chunk of an export (a query per chunk and per related table; a cancel check)."""
    return int(getattr(settings, "DATAIO_EXPORT_CHUNK_ROWS", CHUNK))


def uses_copy() -> bool:
    """Customer CSV exports are written by PostgreSQL's COPY (`dataio.customer_copy`) unless
    DATAIO_EXPORT_COPY is False (then by the Python writer, as on SQLite; the same bytes)."""
    return connection.vendor == "postgresql" and bool(getattr(settings, "DATAIO_EXPORT_COPY", True))


def _chunks(qs, chunk=None):
    """Chunks (lists) of `qs` in primary-key order, read by one query through a server-side
    cursor (`QuerySet.iterator`: PostgreSQL's named cursor, `chunk` rows per fetch), so memory
    does not grow with the row count and the query is planned once (keyset pages would re-run the
    filter per page, and a plan that is not a primary-key walk makes that quadratic). Outside a
    transaction Django declares the cursor WITH HOLD: PostgreSQL then holds the result in its
    own temporary storage, not in this process. Close the generator to release the cursor."""
    chunk = chunk or chunk_rows()
    rows = qs.order_by("pk").iterator(chunk_size=chunk)
    try:
        while True:
            block = list(itertools.islice(rows, chunk))
            if not block:
                return
            yield block
    finally:
        rows.close()


def _moment(value, date_format):
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC)
        fmt = DATE_FORMATS.get(date_format or "iso")
        if fmt == "unix":
            return int(value.timestamp())
        return value.strftime(fmt) if fmt else value.isoformat().replace("+00:00", "Z")
    return value


def moment_formatter(date_format):
    """`_moment` for one date format, chosen once (a column's formatter): UTC, "" for None."""
    fmt = DATE_FORMATS.get(date_format or "iso")
    utc = dt.UTC

    def iso(value):
        if value is None:
            return ""
        if value.__class__ is not dt.datetime:
            return value  # a date
        if value.tzinfo is not utc:
            value = value.astimezone(utc)
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def unix(value):
        if value is None:
            return ""
        return int(value.timestamp()) if value.__class__ is dt.datetime else value

    def pattern(value):
        if value is None:
            return ""
        return value.astimezone(utc).strftime(fmt) if value.__class__ is dt.datetime else value

    if fmt == "unix":
        return unix
    return pattern if fmt else iso


DATETIME_COLUMNS = {"optin_at", "last_login_at", "last_activity_at", "created_at", "updated_at"}


def _pk_range(pks: list[int], field: str) -> Q:
    """A Q selecting the related rows of a chunk's customers (`pks` ascending): a range over the
    chunk when its ids are dense (one index range scan, and no 2,000-parameter IN list to build
    and parse), the IN list otherwise. Rows of customers outside the chunk that a range also
    selects are never looked up."""
    if pks[-1] - pks[0] < 2 * len(pks):
        return Q(**{f"{field}__gte": pks[0], f"{field}__lte": pks[-1]})
    return Q(**{f"{field}__in": pks})


def customer_rows(export: DataExport):
    """Columns and chunks of rows. CSV on PostgreSQL: the customers' ids streamed, and each chunk
    written by PostgreSQL's COPY (`dataio.customer_copy`: chunks of `formats.EncodedRows`, no
    per-row Python). Otherwise one streamed query over the customer table (tuples,
    `values_list`: no model instances), the tier of the first structure by a join; labels,
    balances and tiers per structure with one query per chunk each; each column's formatter
    chosen once (no per-row queries, no per-cell lookups by name)."""
    params = export.params
    columns = params.get("fields") or DEFAULT_CUSTOMER_COLUMNS
    known = set(customer_columns())
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ExportProblem(f"Unknown columns: {', '.join(unknown)[:200]}.", field="fields")
    qs = customer_queryset(export.environment, params.get("query", ""))
    plain = list(dict.fromkeys(c for c in columns if c in CUSTOMER_PLAIN))
    wants_custom = any(c.startswith("custom.") for c in columns)
    wants_tier = "tier" in columns
    select = ["pk", *plain] + (["custom"] if wants_custom else []) + (["tier__name"] if wants_tier else [])
    index = {name: position for position, name in enumerate(select)}
    accounts = {a.code: a.pk for a in PointAccount.objects.all()}
    structures = {s.code: s.pk for s in TierStructure.objects.all()}
    first = tier_structures()[0][0].pk if tier_structures() else None  # customer.tier's structure
    now = clock.now(export.environment)
    moment = moment_formatter(params.get("date_format"))
    wants_labels = "labels" in columns
    balance_accounts = [accounts.get(c[8:]) for c in columns if c.startswith("balance.")]
    tier_structure_pks = [structures.get(c[5:]) for c in columns if c.startswith("tier.")]
    wants_due = wants_tier or bool(tier_structure_pks)

    def custom_value(value):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value

    def getters(labels, balances, tiers, due):
        """One function per column, for this chunk's related rows."""
        out = []
        for c in columns:
            if c in index:
                i = index[c]
                out.append((lambda r, i=i: moment(r[i])) if c in DATETIME_COLUMNS else (lambda r, i=i: r[i]))
            elif c == "tier":
                i = index["tier__name"]
                out.append(lambda r, i=i: due.get((r[0], first), r[i] or ""))
            elif c == "labels":
                out.append(lambda r: labels.get(r[0], ""))
            elif c.startswith("custom."):
                i, name = index["custom"], c[7:]
                out.append(lambda r, i=i, name=name: custom_value((r[i] or {}).get(name, "")))
            elif c.startswith("balance."):
                account = accounts.get(c[8:])
                out.append(lambda r, a=account: balances.get((r[0], a), 0))
            else:
                structure = structures.get(c[5:])
                out.append(lambda r, s=structure: tiers.get((r[0], s), ""))
        return out

    # Rows due for review (a tier expired before the hourly review ran) are read as they are now,
    # like the API and the console (loyalty.tiers.due_rows): few, so once for the whole export.
    due = {}
    if wants_due:
        due = {
            key: ct.tier.name if ct.tier_id else ""
            for key, ct in due_rows(now, environment=export.environment).items()
        }

    if export.format == FileFormat.CSV and uses_copy():
        copy = CustomerCopy(
            columns,
            accounts=accounts,
            structures=structures,
            first_structure=first,
            due=due,
            date_format=params.get("date_format"),
            datetime_columns=DATETIME_COLUMNS,
        )

        def encoded():
            ids = _chunks(qs.values_list("pk", flat=True))
            try:
                for pks in ids:
                    yield copy.chunk(pks)
            finally:
                ids.close()

        return columns, encoded()

    def chunks():
        for chunk in _chunks(qs.values_list(*select)):
            within = _pk_range([r[0] for r in chunk], "customer_id")
            labels: dict[int, str] = {}
            if wants_labels:
                found: dict[int, list[str]] = {}
                for pk, name in Customer.labels.through.objects.filter(within).values_list(
                    "customer_id", "label__name"
                ):
                    found.setdefault(pk, []).append(name)
                labels = {pk: ",".join(sorted(names)) for pk, names in found.items()}
            balances = {}
            if balance_accounts:
                balances = {
                    (b, a): s
                    for b, a, s in PointBalance.objects.filter(
                        within, account_id__in=[a for a in balance_accounts if a]
                    ).values_list("customer_id", "account_id", "spendable")
                }
            tiers = {}
            if tier_structure_pks:
                tiers = {
                    (c, s): n
                    for c, s, n in CustomerTier.objects.filter(within).values_list(
                        "customer_id", "structure_id", "tier__name"
                    )
                }
                tiers.update(due)
            cells = getters(labels, balances, tiers, due)
            yield [[get(r) for get in cells] for r in chunk]

    return columns, chunks()


def _range(qs, params, field):
    """`date_from` (inclusive) and `date_to` (exclusive), ISO 8601, UTC unless an offset is
    given; ExportProblem when one does not parse or the range is empty (to not after from)."""
    moments = {}
    for key, lookup in (("date_from", "gte"), ("date_to", "lt")):
        raw = params.get(key)
        if raw:
            try:
                moment = dt.datetime.fromisoformat(str(raw))
            except ValueError:
                raise ExportProblem(f"{key} is not an ISO 8601 date.", field=key) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            moments[key] = moment
            qs = qs.filter(**{f"{field}__{lookup}": moment})
    if len(moments) == 2 and moments["date_to"] <= moments["date_from"]:
        raise ExportProblem("date_to must be after date_from: the range is empty.", field="date_to")
    return qs


EVENT_COLUMNS = [
    "id",
    "timestamp",
    "effective_at",
    "customer_id",
    "action",
    "points",
    "account",
    "source",
    "reason",
    "data",
]


def event_rows(export: DataExport):
    params = export.params
    qs = _range(Event.objects.filter(environment=export.environment), params, "timestamp")
    if params.get("actions"):
        qs = qs.filter(action__in=list(params["actions"]))
    if params.get("customer"):
        qs = qs.filter(customer__customer_id=params["customer"], customer__anonymized_at__isnull=True)
    fmt = params.get("date_format")
    values = qs.values(
        "pk",
        "timestamp",
        "effective_at",
        "customer__customer_id",
        "action",
        "points",
        "account_id",
        "source",
        "reason",
        "data",
    )

    def rows():
        for chunk in _chunks(values):
            yield [
                [
                    r["pk"],
                    _moment(r["timestamp"], fmt),
                    _moment(r["effective_at"], fmt),
                    r["customer__customer_id"] or "",
                    r["action"],
                    r["points"],
                    account_by_id(r["account_id"]).code if r["account_id"] else "",
                    r["source"],
                    r["reason"],
                    r["data"],
                ]
                for r in chunk
            ]

    return EVENT_COLUMNS, rows()


TRANSACTION_COLUMNS = [
    "transaction_id",
    "customer_id",
    "status",
    "total",
    "currency",
    "channel",
    "checkout_at",
    "points_earned",
    "item_line",
    "product_id",
    "product_name",
    "product_category",
    "quantity",
    "price",
    "discount",
    "subtotal",
]


def transaction_rows(export: DataExport):
    params = export.params
    qs = _range(Transaction.objects.filter(environment=export.environment), params, "created_at")
    fmt = params.get("date_format")
    values = qs.values(
        "pk",
        "transaction_id",
        "customer__customer_id",
        "status",
        "total",
        "currency",
        "channel",
        "checkout_at",
        "points_earned",
    )

    def rows():
        for chunk in _chunks(values):
            items: dict[int, list] = {}
            for item in (
                TransactionItem.objects.filter(transaction_id__in=[r["pk"] for r in chunk])
                .order_by("transaction_id", "line")
                .values_list(
                    "transaction_id",
                    "line",
                    "product_id",
                    "product_name",
                    "product_category",
                    "quantity",
                    "price",
                    "discount",
                    "subtotal",
                )
            ):
                items.setdefault(item[0], []).append(list(item[1:]))
            out = []
            for r in chunk:
                head = [
                    r["transaction_id"],
                    r["customer__customer_id"] or "",
                    r["status"],
                    r["total"],
                    r["currency"],
                    r["channel"],
                    _moment(r["checkout_at"], fmt),
                    r["points_earned"],
                ]
                for item in items.get(r["pk"]) or [[""] * 8]:
                    out.append(head + item)
            yield out

    return TRANSACTION_COLUMNS, rows()


COUPON_COLUMNS = [
    "code",
    "pool",
    "status",
    "customer_id",
    "balance",
    "usages",
    "claimed_at",
    "redeemed_at",
    "expires_at",
    "created_at",
]


def coupon_rows(export: DataExport):
    params = export.params
    qs = Coupon.objects.all()
    if params.get("pool"):
        pool = str(params["pool"])
        if not is_digits(pool):
            raise ExportProblem("pool must be a coupon pool's id.", field="pool")
        qs = qs.filter(pool_id=int(pool))
    if params.get("status"):
        qs = qs.filter(status=params["status"])
    fmt = params.get("date_format")
    values = qs.values(
        "pk",
        "code",
        "pool__name",
        "status",
        "customer__customer_id",
        "balance",
        "usages",
        "claimed_at",
        "redeemed_at",
        "expires_at",
        "created_at",
    )

    def rows():
        for chunk in _chunks(values):
            yield [
                [
                    r["code"],
                    r["pool__name"],
                    r["status"],
                    r["customer__customer_id"] or "",
                    r["balance"],
                    r["usages"],
                    *(_moment(r[k], fmt) for k in ("claimed_at", "redeemed_at", "expires_at", "created_at")),
                ]
                for r in chunk
            ]

    return COUPON_COLUMNS, rows()


LEDGER_COLUMNS = ["date", "customer_id", "account", "kind", "amount", "spendable_after", "event_id", "action"]


def ledger_rows(export: DataExport):
    params = export.params
    qs = _range(LedgerEntry.objects.filter(customer__environment=export.environment), params, "created_at")
    if params.get("account"):
        qs = qs.filter(account__code=params["account"])
    fmt = params.get("date_format")
    values = qs.values(
        "pk",
        "created_at",
        "customer__customer_id",
        "account_id",
        "kind",
        "amount",
        "spendable_after",
        "event_id",
        "event__action",
    )

    def rows():
        for chunk in _chunks(values):
            yield [
                [
                    _moment(r["created_at"], fmt),
                    r["customer__customer_id"],
                    account_by_id(r["account_id"]).code,
                    r["kind"],
                    r["amount"],
                    r["spendable_after"],
                    r["event_id"],
                    r["event__action"],
                ]
                for r in chunk
            ]

    return LEDGER_COLUMNS, rows()


SOURCES = {
    ExportModel.CUSTOMERS: customer_rows,
    ExportModel.EVENTS: event_rows,
    ExportModel.TRANSACTIONS: transaction_rows,
    ExportModel.COUPONS: coupon_rows,
    ExportModel.LEDGER: ledger_rows,
}


def check(export: DataExport) -> None:
    """Refuse bad parameters before queueing (ExportProblem): the same checks the run makes, and
    a NUL character in any of them (no PostgreSQL text can hold one: the query would fail)."""
    for name, value in (export.params or {}).items():
        if any("\x00" in str(v) for v in (value if isinstance(value, list) else [value])):
            raise ExportProblem(f"{name} contains a NUL character.", field=name)
    columns, _rows = SOURCES[export.model](export)
    del columns


def job_key(export: DataExport) -> str:
    return f"export:{export.pk}"


def _track(export: DataExport, status: str, **fields):
    return jobs.track(
        JobKind.EXPORT,
        job_key(export),
        label=f"Export {export.pk}: {export.get_model_display()} ({export.format.upper()})",
        status=status,
        environment=export.environment,
        url=f"/exports/{export.pk}/",
        user=export.created_by,
        cancellable=status in (JobStatus.PENDING, JobStatus.PROCESSING),
        **fields,
    )


def queue(export: DataExport) -> DataExport:
    """Store a pending export and queue its run after commit."""
    _track(export, JobStatus.PENDING)
    transaction.on_commit(lambda: async_task("dataio.tasks.run_export", export.pk))
    return export


def cancel(export: DataExport) -> bool:
    """Cancel a queued or running export; False when it has already ended.

    A queued export is cancelled at once (its task then finds it no longer pending and does
    nothing). A running one is asked to stop: the run checks the job's cancel flag before every
    chunk, and on seeing it discards the partial file (a temporary file, never saved to the
    storage) and ends cancelled."""
    now = clock.now()
    if DataExport.objects.filter(pk=export.pk, status=ExportStatus.PENDING).update(
        status=ExportStatus.CANCELLED, finished_at=now, message="Cancelled before it started."
    ):
        export.refresh_from_db()
        _track(export, JobStatus.CANCELLED, message=export.message)
        return True
    if DataExport.objects.filter(pk=export.pk, status=ExportStatus.PROCESSING).exists():
        job = Job.objects.filter(kind=JobKind.EXPORT, key=job_key(export)).first()
        return job is not None and jobs.request_cancel(job)
    return False


class _Cancelled(Exception):
    pass


def run(pk: int) -> None:
    """Write the export's file: the source's chunks into a temporary file, then to the storage.
    Progress is stored after each chunk; a cancel request is honoured before each chunk."""
    claimed = DataExport.objects.filter(pk=pk, status=ExportStatus.PENDING).update(
        status=ExportStatus.PROCESSING
    )
    if not claimed:
        return
    export = DataExport.objects.get(pk=pk)
    key = job_key(export)
    _track(export, JobStatus.PROCESSING)
    try:
        columns, chunks = SOURCES[export.model](export)
        with tempfile.TemporaryFile() as handle:
            writer = formats.Writer(handle, export.format, columns)
            for chunk in chunks:
                if jobs.cancel_requested(JobKind.EXPORT, key):
                    chunks.close()  # the query's cursor goes with it
                    raise _Cancelled
                writer.write_rows(chunk)
                _track(export, JobStatus.PROCESSING, done=writer.rows)
            if jobs.cancel_requested(JobKind.EXPORT, key):
                raise _Cancelled
            writer.close()
            handle.seek(0, 2)
            export.size = handle.tell()
            handle.seek(0)
            stamp = clock.now().strftime("%Y%m%d-%H%M%S")
            export.file.save(f"{export.model}-{stamp}-{export.pk}.{export.format}", File(handle), save=False)
        export.rows = writer.rows
        export.status = ExportStatus.FINISHED
        export.finished_at = clock.now()
        export.expires_at = export.finished_at + dt.timedelta(days=export_days())
        export.save(update_fields=["rows", "size", "file", "status", "finished_at", "expires_at"])
        _track(export, JobStatus.FINISHED, done=export.rows, total=export.rows)
    except _Cancelled:
        # The temporary file is gone with the `with` block: nothing partial is kept.
        DataExport.objects.filter(pk=pk).update(
            status=ExportStatus.CANCELLED,
            finished_at=clock.now(),
            message=f"Cancelled after {writer.rows:,} rows; no file was kept.",
            rows=0,
            size=0,
        )
        export.refresh_from_db()
        _track(export, JobStatus.CANCELLED, done=writer.rows, message=export.message)
    except ExportProblem as problem:
        _failed(export, problem.message)
    except Exception as error:
        log.exception("export %s failed", pk)
        _failed(export, f"The export failed ({type(error).__name__}).")


def _failed(export: DataExport, message: str) -> None:
    DataExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.FAILED, message=message, finished_at=clock.now()
    )
    _track(export, JobStatus.FAILED, message=message)


def export_days() -> int:
    return int(getattr(settings, "DATAIO_EXPORT_DAYS", 7))


def expire(now: dt.datetime | None = None) -> int:
    """Delete the files of finished exports past their expiry; the rows stay, status expired."""
    now = now or clock.now()
    count = 0
    for export in DataExport.objects.filter(status=ExportStatus.FINISHED, expires_at__lte=now):
        if export.file:
            export.file.delete(save=False)
        export.status = ExportStatus.EXPIRED
        export.save(update_fields=["file", "status"])
        count += 1
    return count


def next_run(export: DataExport, after: dt.datetime) -> dt.datetime:
    at = export.repeat_time or dt.time(0, 0)
    candidate = dt.datetime.combine(after.astimezone(dt.UTC).date(), at, tzinfo=dt.UTC)
    step = dt.timedelta(days=7 if export.repeat == Repeat.WEEKLY else 1)
    while candidate <= after:
        candidate += step
    return candidate


def run_due(now: dt.datetime | None = None) -> int:
    """Start a run of every active repeated export that is due; the runs keep their own rows."""
    now = now or clock.now()
    started = 0
    for definition in DataExport.objects.filter(
        parent__isnull=True, active=True, next_run_at__lte=now
    ).exclude(repeat=""):
        run_row = DataExport.objects.create(
            name=definition.name,
            model=definition.model,
            environment=definition.environment,
            format=definition.format,
            params=definition.params,
            parent=definition,
            created_by=definition.created_by,
            created_at=now,
        )
        DataExport.objects.filter(pk=definition.pk).update(next_run_at=next_run(definition, now))
        queue(run_row)
        started += 1
    return started
