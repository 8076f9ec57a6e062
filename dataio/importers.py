"""What each import model does with a row (reference-behaviour.md §3.1 "Models").

An importer turns one mapped row ({field: value}) into something to apply, checking what can be
checked without the database (`prepare`, used by the validation pass and the run alike), then
applies a chunk of prepared rows (`apply`) inside the caller's transaction:

| model | required | applied as | unchanged when |
| --- | --- | --- | --- |
| customers | customer_id | `opt_in` (new ID) or `profile` (existing) through the engine | every value equals the profile's |
| events | customer, action | the action, every other column an attribute, through the engine; checkouts refused (002) | never |
| transactions | transaction_id, customer, date | a past purchase with its items: `checkout` through the engine, `historical` (stored accepted at `date`, no points) unless the import earns | never (an existing transaction ID is an error) |
| coupons | code | unassigned codes in the chosen pool (not customer state: no event) | never (an existing code is an error) |
| list_members | customer | `customer_list_add` through the engine | the customer is already on the list |
| segment_members | customer | a member of the chosen static segment | already a member |

Engine rows go through `events.batch.register_batch` (source `import`, the import named in the
event's reason, the uploader as admin user): the same validation and effects as the API.
Read-only and calculated attributes are refused (the engine's ReadOnlyAttribute, 001). Empty cells
are left out (an import never clears an attribute). A row that repeats an earlier row is refused
as `duplicate_row`; a customer ID that appears again with other values as `conflicting_row`
(customers): neither is applied, so the file's meaning never depends on row order.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import prefetch_related_objects

from coupons.choices import CouponStatus, CouponType
from coupons.models import Coupon, CouponPool
from customers.attributes import check_value
from customers.fields import custom_fields
from customers.models import BUILTIN_ATTRIBUTES, CUSTOMER_ID_RE, READ_ONLY_ATTRIBUTES, Customer
from events.batch import BatchItem, register_batch
from events.choices import EventSource
from events.engine import resolve_spec
from events.permissions import may_register
from events.validation import parse_moment, validate_data
from loyalty import clock, fastsql
from loyalty.errors import Conflict, EngineError
from segments.building import refresh_statistics
from segments.models import Segment, SegmentMember
from transactions.items import parse_items
from transactions.models import Transaction
from workflows import membership

from .choices import ImportModel
from .digests import DigestMap

CUSTOMER_ID = re.compile(CUSTOMER_ID_RE)
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
REFUSED_ACTIONS = {"checkout", "checkout_update", "checkout_accept", "checkout_reject", "checkout_item"}


def collector_paused(apply):
    """Run an importer's `apply` (one chunk) with Python's cyclic garbage collector paused.

    A chunk keeps thousands of objects alive until it is written (its rows, and in the engine the
    customers, events, lots and results of every row). Each automatic collection that runs
    meanwhile promotes them, and they soon trigger full collections, which walk every object of
    the process (the whole of Django: ~80 ms each): 23% of a customer import's CPU and 38% of a
    point_add import's (bench/bench_imports.py, 20,000 rows). Paused, the chunk's objects are
    freed by reference counting when the chunk ends, as they were anyway; the few cycles it makes
    (a refused row's error and traceback) wait for the next automatic collection after it, so
    memory grows by at most what one chunk leaves in cycles. The collector is switched back on
    only if it was on (a caller that turned it off keeps it off), also when `apply` raises; it
    is enabled again after `apply` has returned, so the chunk's frame and its locals are already
    gone. The switch is process-wide: imports run in the task worker's processes, one task each."""

    @functools.wraps(apply)
    def paused(self, rows, admin_user, reason):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return apply(self, rows, admin_user, reason)
        finally:
            if enabled:
                gc.enable()

    return paused


class RowError(Exception):
    def __init__(self, code: str, message: str, column_field: str = "", value=""):
        super().__init__(message)
        self.code, self.message, self.field, self.value = code, message, column_field, value


@dataclass
class Row:
    number: int
    raw: dict  # column -> value, as uploaded
    values: dict  # field -> value (empty cells left out)
    payload: object = None
    outcome: str = ""  # created | updated | unchanged | failed
    error: RowError | None = None
    extra: dict = field(default_factory=dict)


def _norm(name: str) -> str:
    """Names compare without case, spaces, dashes, dots or underscores: "E-mail" is email."""
    return re.sub(r"[\s\-./_]+", "", name.strip().lower())


class DuplicateGuard:
    """Remembers a 16-byte digest per key and per row, so a repeated row or a conflicting one is
    found across the whole file. Both digests and the row number are kept as two Python ints (a
    key -> (row digest << 32 | row number) map) in a `digests.DigestMap`: a dict of the latest
    50,000 keys, the rest in a temporary on-disk SQLite table, so memory stays flat however long
    the file (a plain dict took ~150 bytes a row; bench/bench_import_million.py)."""

    # What json.dumps(value, sort_keys=True, default=str) writes, from one encoder made once: the
    # keyword form builds a new JSONEncoder per call (a third of a digest's time, two a row).
    _encode = json.JSONEncoder(sort_keys=True, default=str).encode

    def __init__(self):
        self.keys = DigestMap()

    @classmethod
    def digest(cls, value) -> int:
        return int.from_bytes(hashlib.blake2b(cls._encode(value).encode(), digest_size=16).digest())

    def check(self, number: int, key, values: dict, conflict_code: str | None) -> None:
        key_digest, row_digest = self.digest(key), self.digest(values)
        packed = (row_digest << 32) | (number & 0xFFFFFFFF)
        seen = self.keys.get(key_digest)
        if seen is None:
            self.keys[key_digest] = packed
            return
        first, first_digest = seen & 0xFFFFFFFF, seen >> 32
        if first_digest == row_digest:
            raise RowError("duplicate_row", f"Row {number} repeats row {first}; it was not applied.")
        if conflict_code:
            raise RowError(
                conflict_code,
                f"Row {number} names the same {key[0]} as row {first} with other values; neither "
                "value wins silently: fix one row and import it again.",
            )
        self.keys[key_digest] = packed


class Importer:
    model = ""
    required: tuple[str, ...] = ()
    aliases: dict[str, str] = {}
    free_attributes = False  # every unmatched column is an attribute (events)
    # The field naming the customer a row belongs to when a run splits the file into partitions
    # by customer (dataio.running); "" = one partition. Only models whose DuplicateGuard key
    # starts from that customer may name one: a partition's guard sees every row of its customers.
    partition_field = ""

    def __init__(self, data_import):
        self.data_import = data_import
        self.guard = DuplicateGuard()
        # The validation pass checks every attribute value; the run (dataio.running.run) turns
        # this off: the engine checks the same values again with the same errors, once is enough.
        self.check_values = True

    def fields(self) -> list[str]:
        return list(self.required)

    def template_columns(self) -> list[str]:
        return self.fields()

    def auto_map(self, columns: list[str]) -> dict[str, str]:
        """{column: field} by name (case, spaces and dashes ignored; aliases such as `_id`)."""
        known = {_norm(name): name for name in self.fields()}
        known.update({_norm(k): v for k, v in self.aliases.items()})
        mapping = {}
        for column in columns:
            target = known.get(_norm(column))
            if target is None and self.free_attributes and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", column):
                target = column
            mapping[column] = target or ""
        return mapping

    def check_mapping(self, mapping: dict[str, str], columns: list[str]) -> list[str]:
        """Problems with a mapping, for the user: unknown fields, read-only ones, missing required."""
        problems = []
        targets = [t for t in mapping.values() if t]
        allowed = set(self.fields())
        for column, target in mapping.items():
            if not target:
                continue
            if target in READ_ONLY_ATTRIBUTES and self.model == ImportModel.CUSTOMERS:
                problems.append(
                    f"Column {column!r}: {target!r} is read-only (calculated) and cannot be imported."
                )
            elif target not in allowed and not self.free_attributes:
                problems.append(f"Column {column!r}: {target!r} is not a field of this import.")
        for name in self.required:
            if name not in targets:
                problems.append(
                    f"A column for {name!r} is required (the file has: {', '.join(columns)[:200]})."
                )
        duplicates = {t for t in targets if targets.count(t) > 1}
        for name in sorted(duplicates):
            problems.append(f"Two columns are mapped to {name!r}.")
        return problems

    def prepare(self, row: Row) -> None:
        for name in self.required:
            if row.values.get(name) in (None, ""):
                raise RowError("missing_value", f"{name!r} is empty.", name)

    def apply(self, rows: list[Row], admin_user, reason: str) -> None:
        """Apply a chunk of prepared rows (each subclass's own is wrapped in `collector_paused`)."""
        raise NotImplementedError

    # engine rows --------------------------------------------------------------------------
    def permitted(self, row: Row) -> None:
        """Refuse (RowError `permission_denied`) a row whose action the console user who uploaded
        the file may not register: imports ask the one action-permission table
        (events.permissions.may_register), like every console path that registers events. An
        import started through the API (no console user) is bounded by the key's scopes."""
        user = self.data_import.created_by
        action = getattr(row.payload, "action", None)
        if user is not None and action and not may_register(user, action):
            raise RowError(
                "permission_denied",
                f"You may not register {action!r} events: your role does not hold that permission.",
                "action",
                action,
            )

    def _register(self, rows: list[Row], admin_user, reason: str) -> None:
        for row in rows:
            if row.payload is not None and not row.outcome:
                try:
                    self.permitted(row)
                except RowError as error:
                    row.outcome, row.error = "failed", error
        todo = [row for row in rows if row.payload is not None and not row.outcome]
        outcomes = register_batch(
            environment=self.data_import.environment,
            items=[row.payload for row in todo],
            source=EventSource.IMPORT,
            admin_user=admin_user,
            reason=reason,
            explain=False,  # only the outcome is read (registered / refused)
        )
        for row, outcome in zip(todo, outcomes, strict=True):
            if outcome.error is not None:
                self.refused(row, outcome.error)
            else:
                self.registered(row, outcome.result)

    def refused(self, row: Row, error: EngineError) -> None:
        name = (error.field or "").removeprefix("data.")
        row.outcome, row.error = (
            "failed",
            RowError(str(error.code), error.message, name, row.values.get(name, "")),
        )

    def registered(self, row: Row, result) -> None:
        row.outcome = "created" if result.customer_created else "updated"


def _customer_ref(value: str, name: str) -> str:
    value = str(value).strip()
    if ":" not in value and not CUSTOMER_ID.match(value):
        raise RowError("113405", f"{value[:60]!r} is not a valid customer ID.", name, value)
    return value


class CustomerImporter(Importer):
    model = ImportModel.CUSTOMERS
    required = ("customer_id",)
    aliases = {"_id": "customer_id", "id": "customer_id", "customer": "customer_id"}
    partition_field = "customer_id"

    def fields(self) -> list[str]:
        return ["customer_id", *BUILTIN_ATTRIBUTES, *list(custom_fields()), "labels"]

    def template_columns(self) -> list[str]:
        return [
            name
            for name in self.fields()
            if name not in {name for name, f in custom_fields().items() if f.read_only}
        ]

    def _read_only(self) -> set[str]:
        """The attributes an import refuses: worked out again only when the custom fields change
        (configcache hands out the same dict until then; prepare asks once a row)."""
        fields = custom_fields()
        cached = getattr(self, "_read_only_for", None)
        if cached is None or cached[0] is not fields:
            read_only = {*READ_ONLY_ATTRIBUTES, *(name for name, f in fields.items() if f.read_only)}
            cached = self._read_only_for = (fields, read_only)
        return cached[1]

    def prepare(self, row: Row) -> None:
        super().prepare(row)
        ref = _customer_ref(row.values["customer_id"], "customer_id")
        data = {k: v for k, v in row.values.items() if k != "customer_id"}
        read_only = self._read_only()
        for name in data:
            if name in read_only:
                raise RowError("113404", f"{name!r} is read-only and cannot be imported.", name, data[name])
        self.guard.check(row.number, ("customer ID", ref), data, "conflicting_row")
        try:
            if self.check_values:
                spec, _custom, extra = resolve_spec("profile")
                validate_data(spec, data, extra)
                for name, value in data.items():
                    check_value(name, value)
        except EngineError as error:
            self.refused(row, error)
            raise row.error from None
        row.payload = BatchItem(customer=ref, action="opt_in", data=data)

    @collector_paused
    def apply(self, rows: list[Row], admin_user, reason: str) -> None:
        refs = [row.payload.customer for row in rows if row.payload is not None]
        found = _customers(self.data_import.environment, refs)
        if any("labels" in row.payload.data for row in rows if row.payload is not None):
            prefetch_related_objects(found, "labels")  # compared by _same only when a row names labels
        existing = {c.customer_id: c for c in found}
        for row in rows:
            if row.payload is None:
                continue
            customer = existing.get(row.payload.customer)
            if customer is None or customer.status == "inactive":
                continue  # opt_in: create, or enroll an inactive customer
            if _same(customer, row.payload.data):
                row.outcome = "unchanged"
            else:
                row.payload.action = "profile"
        self._register(rows, admin_user, reason)


def _customers(environment: str, refs: list[str]) -> list[Customer]:
    """The live customers with these IDs. On PostgreSQL one array parameter instead of an IN list
    of a chunk's 2,000 placeholders: psycopg rewrote that query text in Python for every chunk,
    and the server parsed and planned it, at 190 ms a chunk (bench/bench_imports.py)."""
    if connection.vendor != "postgresql":
        return list(
            Customer.objects.filter(environment=environment, customer_id__in=refs, anonymized_at__isnull=True)
        )
    return fastsql.select(
        Customer, "environment = %s AND customer_id = ANY(%s) AND anonymized_at IS NULL", [environment, refs]
    )


def _same(customer, data: dict) -> bool:
    for name, value in data.items():
        if name == "labels":
            wanted = sorted(v.strip() for v in (value.split(",") if isinstance(value, str) else value or []))
            if wanted != sorted(label.name for label in customer.labels.all()):
                return False
        elif name in BUILTIN_ATTRIBUTES:
            current = getattr(customer, name, None)
            if str(current if current is not None else "") != str(value).strip():
                return False
        elif str(customer.custom.get(name, "")) != str(value).strip():
            return False
    return True


class EventImporter(Importer):
    model = ImportModel.EVENTS
    required = ("customer", "action")
    aliases = {"_id": "customer", "customer_id": "customer"}
    free_attributes = True
    partition_field = "customer"

    def fields(self) -> list[str]:
        return ["customer", "action", "account", "effective_timestamp", "reason", "points"]

    def prepare(self, row: Row) -> None:
        super().prepare(row)
        ref = _customer_ref(row.values["customer"], "customer")
        action = str(row.values["action"]).strip()
        if action in REFUSED_ACTIONS:
            raise RowError(
                "checkout_refused",
                "Checkouts cannot be imported (they are processed only when sent through the API).",
                "action",
                action,
            )
        data = {k: v for k, v in row.values.items() if k not in {"customer", "action", "account", "reason"}}
        self.guard.check(row.number, ("row", ref, action), row.values, None)
        try:
            spec, _custom, extra = resolve_spec(action)
            if spec.internal:
                raise RowError(
                    "113403", f"{action!r} is an internal event and cannot be imported.", "action", action
                )
            if self.check_values:
                validate_data(spec, data, extra)
        except EngineError as error:
            self.refused(row, error)
            raise row.error from None
        row.payload = BatchItem(
            customer=ref,
            action=action,
            data=data,
            account=row.values.get("account") or None,
            reason=str(row.values.get("reason") or ""),
        )
        self.permitted(row)  # reported by the validation pass already

    @collector_paused
    def apply(self, rows: list[Row], admin_user, reason: str) -> None:
        self._register(rows, admin_user, reason)

    def registered(self, row: Row, result) -> None:
        row.outcome = "created"


class ListMemberImporter(Importer):
    model = ImportModel.LIST_MEMBERS
    required = ("customer",)
    aliases = {"_id": "customer", "customer_id": "customer", "id": "customer"}

    def prepare(self, row: Row) -> None:
        super().prepare(row)
        ref = _customer_ref(row.values["customer"], "customer")
        self.guard.check(row.number, ("customer", ref), {}, None)
        row.payload = BatchItem(
            customer=ref, action="customer_list_add", data={"list": self.data_import.target}
        )

    @collector_paused
    def apply(self, rows: list[Row], admin_user, reason: str) -> None:
        self._register(rows, admin_user, reason)

    def refused(self, row: Row, error: EngineError) -> None:
        if isinstance(error, Conflict) and "already on the list" in error.message:
            row.outcome = "unchanged"
            return
        super().refused(row, error)

    def registered(self, row: Row, result) -> None:
        row.outcome = "created"


class SegmentMemberImporter(Importer):
    model = ImportModel.SEGMENT_MEMBERS
    required = ("customer",)
    aliases = ListMemberImporter.aliases

    def prepare(self, row: Row) -> None:
        super().prepare(row)
        ref = _customer_ref(row.values["customer"], "customer")
        self.guard.check(row.number, ("customer", ref), {}, None)
        row.payload = ref

    @collector_paused
    def apply(self, rows: list[Row], admin_user, reason: str) -> None:
        del admin_user, reason
        segment = Segment.objects.select_for_update().get(pk=self.data_import.target)
        refs = [row.payload for row in rows if row.payload is not None and not row.outcome]
        found = dict(
            Customer.objects.filter(
                environment=self.data_import.environment, customer_id__in=refs, anonymized_at__isnull=True
            ).values_list("customer_id", "pk")
        )
        members = set(
            SegmentMember.objects.filter(
                segment=segment, customer_id__in=found.values(), left_at__isnull=True
            ).values_list("customer_id", flat=True)
        )
        now, new = clock.now(), []
        for row in rows:
            if row.payload is None or row.outcome:
                continue
            pk = found.get(row.payload)
            if pk is None:
                row.outcome = "failed"
                row.error = RowError("160212", f"No customer {row.payload!r}.", "customer", row.payload)
            elif pk in members:
                row.outcome = "unchanged"
            else:
                row.outcome = "created"
                members.add(pk)
                new.append(SegmentMember(segment=segment, customer_id=pk, entered_at=now))
        SegmentMember.objects.bulk_create(new)
        if new:
            segment.member_count += len(new)
            segment.last_built_at = now
            segment.save(update_fields=["member_count", "last_built_at"])
            refresh_statistics(len(new))  # the planner's estimate of the segment's size
            membership.changed(segment.pk, now, entered=True, left=False)  # segment entered workflows


class CouponImporter(Importer):
    model = ImportModel.COUPONS
    required = ("code",)
    aliases = {"coupon": "code", "coupon_code": "code"}

    def prepare(self, row: Row) -> None:
        super().prepare(row)
        code = str(row.values["code"]).strip()
        if not CODE_RE.match(code):
            raise RowError(
                "invalid_code",
                f"{code[:70]!r} is not a valid code (letters, digits, - and _, 3-64).",
                "code",
                code,
            )
        self.guard.check(row.number, ("code", code.upper()), {}, None)
        row.payload = code

    @collector_paused
    def apply(self, rows: list[Row], admin_user, reason: str) -> None:
        del admin_user, reason
        pool = CouponPool.objects.select_for_update().get(pk=self.data_import.target)
        codes = [row.payload for row in rows if row.payload is not None and not row.outcome]
        taken = {c.upper() for c in Coupon.objects.with_codes(codes).values_list("code", flat=True)}
        new = []
        for row in rows:
            if row.payload is None or row.outcome:
                continue
            if row.payload.upper() in taken:
                row.outcome = "failed"
                row.error = RowError("code_exists", f"{row.payload!r} already exists.", "code", row.payload)
            else:
                row.outcome = "created"
                new.append(
                    Coupon(
                        pool=pool,
                        code=row.payload,
                        status=CouponStatus.UNASSIGNED,
                        balance=pool.value if pool.type == CouponType.GIFT_CARD else None,
                    )
                )
        Coupon.objects.bulk_create(new)


class TransactionImporter(Importer):
    """Historical transactions: one row per purchase, its items as a JSON array in `items`
    (the checkout's own shape: product_id, product_name, product_category, quantity, price,
    discount, subtotal). Registered as a `checkout` event of the customer (source import),
    counting from `date` (the event's effective time): by default `historical` (accepted,
    counted in the purchase statistics, no points, no coupons); with the import's `earn` option
    a plain checkout that earns by the earning rule as of now, its points counting from `date`.
    Never modifies a transaction: an ID already stored (a draft included) is the row error
    `transaction_exists`; an ID twice in the file is `duplicate_row` / `conflicting_row`.
    The customer must exist (160212 otherwise): history is not a way to enroll."""

    model = ImportModel.TRANSACTIONS
    required = ("transaction_id", "customer", "date")
    aliases = {
        "_id": "customer",
        "customer_id": "customer",
        "checkout_at": "date",
        "timestamp": "date",
        "effective_timestamp": "date",
        "purchased_at": "date",
    }

    def fields(self) -> list[str]:
        return ["transaction_id", "customer", "date", "total", "currency", "channel", "items", "account"]

    def prepare(self, row: Row) -> None:
        super().prepare(row)
        ref = _customer_ref(row.values["customer"], "customer")
        tid = str(row.values["transaction_id"]).strip()
        raw_date = row.values["date"]
        try:
            moment = parse_moment(raw_date, "date")
        except EngineError as error:
            raise RowError("invalid_date", error.message, "date", raw_date) from None
        if moment > clock.now(self.data_import.environment):
            raise RowError("invalid_date", "A historical purchase cannot be in the future.", "date", raw_date)
        data = {"transaction_id": tid}
        for name in ("total", "currency", "channel"):
            if row.values.get(name) not in (None, ""):
                data[name] = row.values[name]
        items = row.values.get("items")
        if items not in (None, ""):
            if isinstance(items, str):
                try:
                    items = json.loads(items)
                except ValueError:
                    raise RowError(
                        "invalid_items", "items must be a JSON array of objects.", "items", items
                    ) from None
            if not isinstance(items, list):
                raise RowError("invalid_items", "items must be a JSON array of objects.", "items", str(items))
            data["items"] = items
        if not self.data_import.earn:
            data["historical"] = True
        self.guard.check(
            row.number,
            ("transaction ID", tid),
            {**data, "customer": ref, "date": str(raw_date)},
            "conflicting_row",
        )
        spec, _custom, extra = resolve_spec("checkout")
        try:
            validate_data(spec, data, extra)
            parse_items(data.get("items"), tid)
        except EngineError as error:
            self.refused(row, error)
            raise row.error from None
        row.payload = BatchItem(
            customer=ref,
            action="checkout",
            data=data,
            account=row.values.get("account") or None,
            effective_timestamp=moment,
        )
        self.permitted(row)

    @collector_paused
    def apply(self, rows: list[Row], admin_user, reason: str) -> None:
        todo = [row for row in rows if row.payload is not None and not row.outcome]
        environment = self.data_import.environment
        known = set(
            Customer.objects.filter(
                environment=environment,
                customer_id__in=[row.payload.customer for row in todo],
                anonymized_at__isnull=True,
            ).values_list("customer_id", flat=True)
        )
        taken = set(
            Transaction.objects.filter(
                environment=environment,
                transaction_id__in=[row.payload.data["transaction_id"] for row in todo],
            ).values_list("transaction_id", flat=True)
        )
        for row in todo:
            tid = row.payload.data["transaction_id"]
            if row.payload.customer not in known:
                row.outcome = "failed"
                row.error = RowError(
                    "160212", f"No customer {row.payload.customer!r}.", "customer", row.payload.customer
                )
            elif tid in taken:
                row.outcome = "failed"
                row.error = RowError(
                    "transaction_exists",
                    f"Transaction {tid!r} already exists; an import never changes a stored transaction.",
                    "transaction_id",
                    tid,
                )
        self._register(rows, admin_user, reason)

    def refused(self, row: Row, error: EngineError) -> None:
        if isinstance(error, Conflict) and "already exists" in error.message:
            tid = row.payload.data["transaction_id"] if row.payload is not None else ""
            row.outcome, row.error = (
                "failed",
                RowError("transaction_exists", error.message, "transaction_id", tid),
            )
            return
        super().refused(row, error)

    def registered(self, row: Row, result) -> None:
        row.outcome = "created"


IMPORTERS: dict[str, type[Importer]] = {
    ImportModel.CUSTOMERS: CustomerImporter,
    ImportModel.EVENTS: EventImporter,
    ImportModel.TRANSACTIONS: TransactionImporter,
    ImportModel.COUPONS: CouponImporter,
    ImportModel.LIST_MEMBERS: ListMemberImporter,
    ImportModel.SEGMENT_MEMBERS: SegmentMemberImporter,
}


def importer_for(data_import) -> Importer:
    return IMPORTERS[data_import.model](data_import)
