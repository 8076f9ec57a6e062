"""Reading uploaded files and writing export files, in CSV, JSON and XLSX, at constant memory.

Reading (`inspect` at upload, `iter_rows` for the validation pass and the run):
- CSV: the encoding is checked over the whole file at upload (UTF-8 with or without a BOM unless
  another is chosen); a NUL character or undecodable bytes are refused with the row. The delimiter
  is detected from the header (comma, semicolon, pipe or tab) unless chosen. The first row must
  name the columns (no empty or repeated names).
- JSON: an array of objects, or JSON Lines (one object per line). Both are streamed: an array is
  parsed item by item with ijson (its C backend), so memory holds one object whatever the file's
  size; its syntax is checked over the whole file at upload, at constant memory too. Files are
  bounded by the upload limit (DATAIO_MAX_UPLOAD_BYTES) like every other.
- XLSX: the first sheet, read-only (streamed); refused before opening when the archive would
  unpack to more than DATAIO_MAX_XLSX_UNPACKED bytes or any member is compressed more than 100:1
  (a zip bomb); reading stops after 1,000 consecutive empty rows (a sheet formatted down to row
  1,048,576 is not a million rows).
Every problem is a `FileProblem` with a message for the user, never an exception page.

Writing (`Writer`): CSV, JSON (an array of objects) or XLSX (openpyxl's write-only mode), row by
row into a temporary file. Text cells that begin with `=`, `+`, `-`, `@`, a tab or a carriage
return are neutralised with a leading apostrophe in CSV and XLSX (OWASP "CSV injection"), so a
spreadsheet shows them as text instead of running them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import json
import zipfile
from collections.abc import Iterator

import ijson
import openpyxl
from django.conf import settings

from loyalty.jsonable import MAX_JSON_DEPTH, nesting_depth

from .choices import FileFormat

DELIMITERS = [",", ";", "|", "\t"]
ENCODINGS = ["utf-8", "windows-1252", "iso-8859-1", "utf-16"]
EMPTY_ROWS_STOP = 1000
MAX_BOMB_RATIO = 100
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FileProblem(ValueError):
    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.message = message
        self.field = field


def max_upload_bytes() -> int:
    return int(getattr(settings, "DATAIO_MAX_UPLOAD_BYTES", 500 * 1024 * 1024))


def format_of(file_name: str) -> str:
    name = file_name.lower()
    for fmt in (FileFormat.CSV, FileFormat.JSON, FileFormat.XLSX):
        if name.endswith("." + fmt):
            return fmt
    if name.endswith((".jsonl", ".ndjson")):
        return FileFormat.JSON
    if name.endswith((".txt", ".tsv")):
        return FileFormat.CSV
    raise FileProblem("Upload a .csv, .json or .xlsx file.")


# -- reading ---------------------------------------------------------------------------------


def check_text(handle, encoding: str) -> None:
    """Decode the whole file once (1 MB at a time): a wrong encoding or a NUL is refused with the
    row where it happens."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    while True:
        block = handle.read(1024 * 1024)
        final = not block
        try:
            text = decoder.decode(block, final=final)
        except UnicodeError as error:  # UnicodeDecodeError, or UTF-16 without a byte-order mark
            line += block[: max(0, getattr(error, "start", 0))].count(b"\n")
            hint = (
                ""
                if encoding != "utf-8"
                else "; choose the file's encoding (e.g. windows-1252) and upload again"
            )
            raise FileProblem(
                f"Row {line}: the file is not {encoding} text{hint}.", field="encoding"
            ) from None
        if "\x00" in text:
            line += text[: text.index("\x00")].count("\n")
            raise FileProblem(f"Row {line}: the file contains a NUL character (is it a text file?).")
        line += text.count("\n")
        if final:
            return


class _Shield:
    """The caller's file, which a text wrapper going out of scope must not close."""

    def __init__(self, raw):
        self._raw = raw

    def __getattr__(self, name):
        return getattr(self._raw, name)

    @property
    def closed(self):
        return self._raw.closed

    def close(self):
        pass


def _text(handle, encoding: str):
    # utf-8-sig drops a byte-order mark; the newline="" is what the csv module asks for.
    return io.TextIOWrapper(
        _Shield(handle), encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline=""
    )


def detect_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_header(columns: list) -> list[str]:
    names = [str(c).strip() if c is not None else "" for c in columns]
    if not names or not any(names):
        raise FileProblem("Row 1 is empty: the first row must name the columns.")
    if any("\x00" in name for name in names):
        raise FileProblem("Row 1: a column name contains a NUL character.")
    if "" in names:
        raise FileProblem(
            f"Row 1: column {names.index('') + 1} has no name; the first row must name every column."
        )
    seen = set()
    for name in names:
        if name in seen:
            raise FileProblem(f"Row 1: the column {name[:60]!r} appears twice.")
        seen.add(name)
    return names


def check_xlsx(handle) -> None:
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError):
        raise FileProblem("The file is not an XLSX workbook (not a ZIP archive).") from None
    limit = int(getattr(settings, "DATAIO_MAX_XLSX_UNPACKED", 1024 * 1024 * 1024))
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if (
            info.compress_size
            and info.file_size / info.compress_size > MAX_BOMB_RATIO
            and info.file_size > 10_000_000
        ):
            raise FileProblem("The workbook is compressed suspiciously far (a zip bomb?); it was not opened.")
        if total > limit:
            raise FileProblem(
                f"The workbook would unpack to more than {limit // (1024 * 1024)} MB; it was not opened."
            )
    if "xl/workbook.xml" not in archive.namelist():
        raise FileProblem("The file is a ZIP archive but not an XLSX workbook.")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _xlsx_rows(handle) -> Iterator[list]:
    check_xlsx(handle)
    handle.seek(0)
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        raise FileProblem(f"The workbook cannot be read ({type(error).__name__}).") from None
    try:
        sheet = workbook.worksheets[0]
        empty = 0
        for values in sheet.iter_rows(values_only=True):
            cells = [_cell(v) for v in values]
            if not any(c != "" for c in cells):
                empty += 1
                if empty >= EMPTY_ROWS_STOP:
                    return
                continue
            empty = 0
            yield cells
    finally:
        workbook.close()


class _Utf8:
    """A text file read as UTF-8 bytes, `size` characters at a time: what ijson reads, whatever
    the file's encoding (a UTF-8 byte-order mark dropped by the text wrapper)."""

    def __init__(self, text):
        self.text = text

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson asks read(0) to learn whether the file gives bytes
        return self.text.read(size if size and size > 0 else 64 * 1024).encode("utf-8")


def _json_array(handle, encoding: str) -> Iterator:
    """The items of a JSON array, one at a time (ijson, its C backend): memory holds one item,
    not the file. Numbers as json.load reads them (int or float). A syntax error anywhere is a
    FileProblem naming it."""
    try:
        yield from ijson.items(_Utf8(_text(handle, encoding)), "item", use_float=True)
    except ijson.JSONError as error:
        raise FileProblem(f"The file is not valid JSON ({error}).") from None
    except UnicodeError as error:
        raise FileProblem(f"The file is not {encoding} text ({_reason(error)}).", field="encoding") from None


def _reason(error: UnicodeError) -> str:
    return getattr(error, "reason", None) or str(error)


def check_json_array(handle, encoding: str) -> None:
    """At upload: parse the whole array once, at constant memory (ijson's events, nothing built),
    so a syntax error anywhere in the file is refused before anything runs; so are an item nested
    deeper than MAX_JSON_DEPTH (building it would exhaust the worker: 100,000 nested arrays, a
    200 KB file, got the process killed) and a NUL character (\\u0000) in a key or a string, which
    no text column of PostgreSQL can store."""
    depth = items = 0
    try:
        for event, value in ijson.basic_parse(_Utf8(_text(handle, encoding)), use_float=True):
            if event in ("start_map", "start_array"):
                depth += 1
                items += depth == 2
                if depth > MAX_JSON_DEPTH + 1:
                    raise FileProblem(
                        f"Row {items + 1}: the item is nested deeper than {MAX_JSON_DEPTH} levels."
                    )
            elif event in ("end_map", "end_array"):
                depth -= 1
            else:
                items += depth == 1
                if event in ("string", "map_key") and "\x00" in value:
                    raise FileProblem(f"Row {items + 1}: the item contains a NUL character (\\u0000).")
    except ijson.JSONError as error:
        raise FileProblem(f"The file is not valid JSON ({error}).") from None
    except UnicodeError as error:
        raise FileProblem(f"The file is not {encoding} text ({_reason(error)}).", field="encoding") from None


def _is_array(handle, encoding: str) -> bool:
    """Whether the file's first character (after a byte-order mark and blanks) opens an array."""
    head = handle.read(256)
    handle.seek(0)
    text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="ignore")
    return text.lstrip(" \t\r\n\ufeff").startswith("[")


def _json_rows(handle, encoding: str) -> Iterator[list]:
    """JSON: yields the header (the union of the first 1,000 objects' keys) then value lists.
    An array is read item by item (`_json_array`), JSON Lines line by line: neither is held whole."""
    if _is_array(handle, encoding):
        objects: Iterator = _json_array(handle, encoding)
    else:
        objects = _json_lines(_text(handle, encoding))
    buffered = []
    columns: list[str] = []
    for obj in objects:
        buffered.append(obj)
        if isinstance(obj, dict):
            columns.extend(k for k in obj if k not in columns)
        if len(buffered) >= 1000:
            break
    yield columns
    for obj in _chain(buffered, objects):
        if not isinstance(obj, dict):
            yield None  # the caller reports "not an object" for this row
            continue
        yield [obj.get(c, "") if not isinstance(obj.get(c), str) else obj[c] for c in columns] + [
            {k: v for k, v in obj.items() if k not in columns}
        ]


def _json_lines(text) -> Iterator:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        if line.count("[") + line.count("{") > MAX_JSON_DEPTH and nesting_depth(line) > MAX_JSON_DEPTH:
            raise FileProblem(f"Line {number} is nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            obj = json.loads(line)
        except ValueError as error:
            raise FileProblem(f"Line {number} is not valid JSON ({error}).") from None
        if "\\u0000" in line and _has_nul(obj):
            raise FileProblem(f"Line {number} contains a NUL character (\\u0000).")
        yield obj


def _has_nul(value) -> bool:
    """Whether a NUL character is in any string or key of a parsed JSON value (iterative)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _chain(first, rest):
    yield from first
    yield from rest


def open_rows(handle, fmt: str, delimiter: str = ",", encoding: str = "utf-8") -> Iterator[list]:
    """The file's rows as lists of cells, the header first. JSON rows carry one more element: a
    dict of keys outside the header (reported as unknown columns)."""
    if fmt == FileFormat.XLSX:
        return _xlsx_rows(handle)
    if fmt == FileFormat.JSON:
        return _json_rows(handle, encoding)
    return csv.reader(_text(handle, encoding), delimiter=delimiter)


def inspect(handle, file_name: str, delimiter: str = "", encoding: str = "utf-8") -> dict:
    """At upload: the format, delimiter, encoding and header of a file, or FileProblem."""
    fmt = format_of(file_name)
    if encoding not in ENCODINGS:
        raise FileProblem(f"Unknown encoding {encoding!r}.", field="encoding")
    if fmt == FileFormat.CSV:
        check_text(handle, encoding)
        handle.seek(0)
        first = _text(handle, encoding).readline()
        handle.seek(0)
        delimiter = delimiter or detect_delimiter(first)
    elif fmt == FileFormat.JSON:
        check_text(handle, encoding)  # in any encoding: UTF-16 without its byte-order mark too
        handle.seek(0)
        if _is_array(handle, encoding):
            check_json_array(handle, encoding)
            handle.seek(0)
    rows = open_rows(handle, fmt, delimiter or ",", encoding)
    try:
        header = next(iter(rows), None)
    except FileProblem:
        raise
    except csv.Error as error:
        raise FileProblem(f"Row 1: {error}.") from None
    except Exception as error:  # a damaged workbook or JSON file: say so, never an error page
        raise FileProblem(f"The file cannot be read ({type(error).__name__}).") from None
    if header is None:
        raise FileProblem("The file is empty.")
    columns = _check_header(header)
    return {"format": fmt, "delimiter": delimiter or ",", "encoding": encoding, "columns": columns}


# -- writing ---------------------------------------------------------------------------------


def neutralise(value):
    """A text cell a spreadsheet would run as a formula, made plain text (a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


_FORMULA_SET = frozenset(FORMULA_START)


class EncodedRows:
    """Rows already written as CSV bytes (UTF-8, CRLF line ends, formulas neutralised), e.g. by
    PostgreSQL's COPY (`dataio.customer_copy`): `Writer.write_rows` copies them as they are.
    `len()` is the number of rows."""

    __slots__ = ("data", "rows")

    def __init__(self, data: bytes, rows: int):
        self.data, self.rows = data, rows

    def __len__(self) -> int:
        return self.rows


_SLOW_TYPES = frozenset({list, dict, dt.datetime})


def _csv_cell(value):
    """A list, dict or date-time cell as CSV text (neutralised like any text)."""
    return neutralise(_plain(value))


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


class Writer:
    """Rows into `handle` (a binary file) as CSV, JSON or XLSX; call `close()` at the end."""

    def __init__(self, handle, fmt: str, columns: list[str]):
        self.handle, self.fmt, self.columns, self.rows = handle, fmt, columns, 0
        if fmt == FileFormat.XLSX:
            self.workbook = openpyxl.Workbook(write_only=True)
            self.sheet = self.workbook.create_sheet("export")
            self.sheet.append([neutralise(c) for c in columns])
        else:
            self.text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            if fmt == FileFormat.CSV:
                self.csv = csv.writer(self.text)
                self.csv.writerow([neutralise(c) for c in columns])
            else:
                self.text.write("[")

    def write(self, values: list) -> None:
        self.write_rows([values])

    def write_rows(self, rows: list) -> None:
        """A chunk of rows (lists or tuples of cells). CSV goes through csv.writerows with one
        pass over the cells (text neutralised; lists, dicts and date-times made text); an
        `EncodedRows` chunk (CSV only) is copied as it is."""
        if rows.__class__ is EncodedRows:
            if self.fmt != FileFormat.CSV:
                raise ValueError("EncodedRows are CSV.")
            self.text.flush()
            self.handle.write(rows.data)
            self.rows += rows.rows
            return
        if self.fmt == FileFormat.CSV:
            start, slow = _FORMULA_SET, _SLOW_TYPES
            self.csv.writerows(
                [
                    [
                        ("'" + v if v[:1] in start else v)
                        if v.__class__ is str
                        else (_csv_cell(v) if v.__class__ in slow else v)
                        for v in row
                    ]
                    for row in rows
                ]
            )
        elif self.fmt == FileFormat.JSON:
            columns, text = self.columns, self.text
            for values in rows:
                obj = {
                    c: (v.isoformat() if isinstance(v, (dt.datetime, dt.date)) else v)
                    for c, v in zip(columns, values, strict=False)
                }
                text.write(
                    ("\n" if self.rows == 0 else ",\n") + json.dumps(obj, ensure_ascii=False, default=str)
                )
                self.rows += 1
            return
        else:
            append = self.sheet.append
            for values in rows:
                append([neutralise(_xlsx_value(v)) for v in values])
        self.rows += len(rows)

    def close(self) -> None:
        if self.fmt == FileFormat.XLSX:
            self.workbook.save(self.handle)
            return
        if self.fmt == FileFormat.JSON:
            self.text.write("\n]\n")
        self.text.flush()
        self.text.detach()


def _xlsx_value(value):
    if isinstance(value, dt.datetime):
        return (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else value.astimezone(dt.UTC).replace(tzinfo=None)
        )
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        # XLSX cannot hold control characters; openpyxl would raise.
        return "".join(ch for ch in value if ch >= " " or ch in "\t\n\r")
    return value
