"""Form-encoded bodies with PHP-style brackets, as the reference's cURL example sends them:

    customer=374397439743&action=checkout&data[items][0][price]=200&data[tags][]=a

becomes {"customer": "374397439743", "action": "checkout", "data": {"items": [{"price": "200"}],
"tags": ["a"]}}. Values stay strings; the engine coerces them by each attribute's type.
"""

import re
from urllib.parse import parse_qsl

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from loyalty.bounds import is_digits
from loyalty.errors import ValidationError

_NAME_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 12
MAX_INDEX = 10000
MAX_FIELDS = 20000


def split_name(name: str) -> list[str]:
    match = _NAME_RE.match(name)
    if not match:
        return [name]
    return [match.group(1), *_SEGMENT_RE.findall(match.group(2))]


def _is_index(segment: str) -> bool:
    """ASCII digits only: str.isdigit() is also true of "²" and "١", which int() refuses."""
    return segment.isascii() and segment.isdigit()


def parse_brackets(pairs) -> dict:
    root: dict = {}
    for name, value in pairs:
        path = split_name(name)
        if len(path) > MAX_DEPTH:
            raise ParseError(f"Parameter {name[:100]!r} is nested too deeply.")
        node = root
        for depth, segment in enumerate(path):
            last = depth == len(path) - 1
            if segment == "":
                segment = str(len(node))  # `a[]=x` appends
            if _is_index(segment) and (not is_digits(segment) or int(segment) > MAX_INDEX):
                raise ParseError(f"Parameter {name[:100]!r} has too large an index.")
            if last:
                if isinstance(node.get(segment), dict):
                    raise ParseError(f"Parameter {name[:100]!r} conflicts with a nested parameter.")
                node[segment] = value
            else:
                child = node.setdefault(segment, {})
                if not isinstance(child, dict):
                    raise ParseError(f"Parameter {name[:100]!r} conflicts with a plain parameter.")
                node = child
    return _listify(root)


def _listify(node):
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and all(_is_index(key) for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


class BracketFormParser(BaseParser):
    media_type = "application/x-www-form-urlencoded"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(
                f"Form data is not valid {encoding}: {exc.reason if hasattr(exc, 'reason') else exc}"
            )
        except ValueError as exc:
            raise ParseError(str(exc))
        return parse_brackets(pairs)


class CsvParser(BaseParser):
    """A `text/csv` body (imports), as bytes: the view decodes it, so a bad encoding is a 400 on
    its `file` field rather than a parse error."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


def csv_text(request, limit: int = 5 * 1024 * 1024) -> str:
    """The CSV body of `request` (parsed by CsvParser) as text; 400 `file` when it is too large
    or not UTF-8."""
    raw = request.data if isinstance(request.data, bytes) else b""
    if len(raw) > limit:
        raise ValidationError(f"The file may be at most {limit // (1024 * 1024)} MB.", field="file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text.", field="file") from None
