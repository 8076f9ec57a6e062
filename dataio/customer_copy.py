"""The customer export as CSV on PostgreSQL: PostgreSQL writes the CSV itself.

The customers to export are read as before (the console list's query, `exports.customer_queryset`,
streamed in primary-key order through one server-side cursor: one query, planned once), but only
their ids; each chunk of ids is then written by one
`COPY (SELECT <one expression per column> ... WHERE id IN the chunk ORDER BY id) TO STDOUT
(FORMAT csv)`, whose bytes go to the file as they are. No value is decoded into a Python object
and no cell is formatted in Python: the export's own CPU is a few microseconds per chunk row
(reading the ids), where formatting rows in Python cost ~12 µs a row (datetime parsing and
`isoformat`, per-cell formatters and the csv writer; measured with cProfile on bench100k).

The SQL writes exactly what the Python writer (`formats.Writer`, used on SQLite and for JSON and
XLSX) writes for the same rows — `tests/dataio/test_export_copy.py` compares the two files byte
for byte:
- text cells starting with `=`, `+`, `-`, `@`, tab or CR get a leading apostrophe (formula
  neutralisation, `formats.FORMULA_START`); numbers are never neutralised, as in Python;
- an empty or missing value is an empty cell (NULL in COPY's CSV), except in a one-column export,
  where it is `""` so the row is not a blank line (what Python's csv module writes);
- date-times are UTC in the export's `date_format` (`exports.moment_formatter`): ISO 8601 with
  `Z` and microseconds only when there are any, `YYYY-MM-DD HH:MM:SS`, `DD/MM/YYYY HH:MM:SS`,
  or Unix seconds (truncated); dates are `YYYY-MM-DD`;
- custom attributes: strings as they are (neutralised), numbers as JSON writes them, booleans
  `True` / `False`, lists and objects as JSON text (`", "` and `": "` separators, non-ASCII kept,
  which is both jsonb's text output and `json.dumps(..., ensure_ascii=False)`);
- labels sorted by code point (`COLLATE "C"`, Python's `sorted`) and joined with commas;
- `tier` / `tier.<structure>`: the stored tier, or for the few rows due for review the tier
  `loyalty.tiers.due_rows` computes now (passed in as a JSON object), like the console.
COPY ends lines with LF; `crlf` turns them into the CRLF of Python's csv writer (RFC 4180).
"""

from __future__ import annotations

import json

from django.db import connection, transaction

from customers.models import Customer, Label
from loyalty.models import PointBalance
from loyalty.models.tiers import CustomerTier, Tier

from .formats import FORMULA_START, EncodedRows

_FORMULA_SQL = (
    "(" + ", ".join("E'" + c.replace("\t", "\\t").replace("\r", "\\r") + "'" for c in FORMULA_START) + ")"
)
# Date-time formats of a UTC `timestamp` (without time zone), as exports.moment_formatter writes them.
_MOMENT_SQL = {
    "ymd_hms": "to_char({x}, 'YYYY-MM-DD HH24:MI:SS')",
    "dmy_hms": "to_char({x}, 'DD/MM/YYYY HH24:MI:SS')",
    "unix": "trunc(extract(epoch FROM {x}))::bigint::text",
    "iso": (
        "CASE WHEN date_trunc('second', {x}) = {x} THEN to_char({x}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        ' ELSE to_char({x}, \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') END'
    ),
}
_TEXT_TYPES = ("CharField", "TextField", "SlugField", "EmailField")


def _neutralised(ref: str) -> str:
    """`ref` (a column reference, repeated here) with a formula start neutralised."""
    return f"CASE WHEN left({ref}, 1) IN {_FORMULA_SQL} THEN '''' || {ref} ELSE {ref} END"


class CustomerCopy:
    """The COPY statement for `columns` (names from `exports.customer_columns()`), built once.

    `accounts` / `structures`: {code: pk}; `first_structure`: the pk of the structure whose tier
    is the `tier` column (None: no structures); `due`: {(customer pk, structure pk): tier name};
    `date_format`: a key of `exports.DATE_FORMATS` (anything else is ISO, like the Python path);
    `datetime_columns`: the plain columns that are date-times.

    The statement reads each value once in an inner query (`v0`, `v1`...: columns, the labels'
    and balances' subqueries; `OFFSET 0` keeps PostgreSQL from merging it into the outer one,
    which would run a subquery once per reference) and formats it in the outer one."""

    def __init__(self, columns, *, accounts, structures, first_structure, due, date_format, datetime_columns):
        self.params: dict[str, object] = {}
        self.inner: list[str] = []
        self.joins_tier = False
        self.due = {f"{c}:{s}": name for (c, s), name in due.items()}
        self.single = len(columns) == 1
        fmt = date_format if date_format in _MOMENT_SQL else "iso"
        context = (accounts, structures, first_structure, fmt, datetime_columns)
        self.outer = [self._column(name, *context) for name in columns]

    def _value(self, expr: str) -> str:
        """Read `expr` once in the inner query; its reference in the outer one."""
        self.inner.append(f"{expr} AS v{len(self.inner)}")
        return f"s.v{len(self.inner) - 1}"

    def _param(self, value) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def _cell(self, expr: str, nullable: bool = True) -> str:
        """An empty or NULL value is an empty cell; a lone column writes it as "" (not a blank line)."""
        if not nullable:
            return expr
        return f"COALESCE({expr}, '')" if self.single else f"NULLIF({expr}, '')"

    def _due(self, structure_pk: int, stored: str) -> str:
        if not self.due:
            return stored
        return f"COALESCE(%(due)s::jsonb ->> (c.id::text || ':{int(structure_pk)}'), {stored})"

    def _column(self, name, accounts, structures, first, fmt, datetime_columns) -> str:
        if name == "labels":
            through = Customer.labels.through._meta.db_table
            labels = self._value(
                f"(SELECT string_agg(l.name, ',' ORDER BY l.name COLLATE \"C\") FROM {through} cl"
                f" JOIN {Label._meta.db_table} l ON l.id = cl.label_id WHERE cl.customer_id = c.id)"
            )
            return self._cell(_neutralised(labels))
        if name == "tier":
            self.joins_tier = True
            tier = self._value(self._due(first, "t.name") if first is not None else "t.name")
            return self._cell(_neutralised(tier))
        if name.startswith("custom."):
            value = self._value(f"(c.custom -> {self._param(name[7:])})")
            text = f"({value} #>> '{{}}')"
            return self._cell(
                f"CASE jsonb_typeof({value}) WHEN 'string' THEN {_neutralised(text)}"
                f" WHEN 'number' THEN {text} WHEN 'boolean' THEN initcap({text})"
                f" WHEN 'null' THEN NULL ELSE {value}::text END"
            )
        if name.startswith("balance."):
            account = accounts.get(name[8:])
            if account is None:
                return "0"
            return self._value(
                f"COALESCE((SELECT b.spendable FROM {PointBalance._meta.db_table} b"
                f" WHERE b.customer_id = c.id AND b.account_id = {int(account)}), 0)"
            )
        if name.startswith("tier."):
            structure = structures.get(name[5:])
            if structure is None:
                return self._cell("NULL::text")
            stored = (
                f"(SELECT tt.name FROM {CustomerTier._meta.db_table} ct JOIN {Tier._meta.db_table} tt"
                f" ON tt.id = ct.tier_id WHERE ct.customer_id = c.id AND ct.structure_id = {int(structure)})"
            )
            return self._cell(_neutralised(self._value(self._due(structure, stored))))
        field = Customer._meta.get_field(name)
        column = f"c.{connection.ops.quote_name(field.column)}"
        kind = field.get_internal_type()
        if name in datetime_columns:
            return self._cell(_MOMENT_SQL[fmt].format(x=self._value(f"({column} AT TIME ZONE 'UTC')")))
        if kind == "DateField":
            return self._cell(f"to_char({self._value(column)}, 'YYYY-MM-DD')")
        if kind in _TEXT_TYPES:
            return self._cell(_neutralised(self._value(column)))
        return self._cell(self._value(column), nullable=field.null)  # numbers: as PostgreSQL writes them

    def sql(self, pks: list[int]) -> tuple[str, dict]:
        """The COPY statement for one chunk of customer ids (ascending) and its parameters."""
        params = dict(self.params)
        if self.due:
            params["due"] = json.dumps(self.due)
        if pks[-1] - pks[0] + 1 == len(pks):  # contiguous: exactly the ids of the range
            where = f"c.id BETWEEN {int(pks[0])} AND {int(pks[-1])}"
        else:
            where = "c.id = ANY(%(ids)s::bigint[])"
            params["ids"] = "{" + ",".join(map(str, pks)) + "}"
        join = f" LEFT JOIN {Tier._meta.db_table} t ON t.id = c.tier_id" if self.joins_tier else ""
        inner = ", ".join(["c.id", *self.inner])
        statement = (
            f"COPY (SELECT {', '.join(self.outer)} FROM (SELECT {inner} FROM {Customer._meta.db_table} c{join}"
            f" WHERE {where} ORDER BY c.id OFFSET 0) s ORDER BY s.id) TO STDOUT (FORMAT csv)"
        )
        return statement, params

    def chunk(self, pks: list[int]) -> EncodedRows:
        """The chunk's rows as CSV bytes (one COPY on the export's connection). JIT compilation is
        off for it: the chunk's plan costs enough to trigger it, and compiling the expressions
        anew for every chunk took longer than running them (160 of 290 ms a 10,000-row chunk)."""
        statement, params = self.sql(pks)
        blocks = []
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            # The driver's cursor: Django's debug wrapper (DEBUG on) takes no COPY parameters.
            with connection.wrap_database_errors, cursor.cursor.copy(statement, params) as copy:
                for block in copy:
                    blocks.append(bytes(block))
            rows = cursor.rowcount
        return EncodedRows(crlf(b"".join(blocks)), rows if rows >= 0 else len(pks))


def crlf(data: bytes) -> bytes:
    """COPY's CSV with the line ends of Python's csv writer (CRLF, RFC 4180): every LF outside a
    quoted field (a quote character toggles in and out, an escaped `""` toggles twice) becomes
    CRLF; a line break inside a quoted value stays as it was."""
    if b'"' not in data:
        return data.replace(b"\n", b"\r\n")
    parts = data.split(b'"')
    parts[0::2] = [part.replace(b"\n", b"\r\n") for part in parts[0::2]]
    return b'"'.join(parts)
