"""JSON arrays are parsed incrementally (ijson): reading a large array generated on the fly keeps
memory to about one item; a syntax error anywhere is refused at upload; the size limit stays."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from dataio import formats

from .conftest import run_import, upload

pytestmark = pytest.mark.django_db


class GeneratedArray(io.RawIOBase):
    """A JSON array of `count` objects produced while it is read: the file never exists whole."""

    def __init__(self, count: int):
        self.count = count
        self.seek(0)

    def _produce(self):
        yield b"[\n"
        for n in range(self.count):
            item = b'{"customer_id": "C-%d", "email": "c%d@example.com", "score_note": %d.5}' % (n, n, n)
            yield item + (b",\n" if n < self.count - 1 else b"\n")
        yield b"]\n"

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        assert (offset, whence) == (0, io.SEEK_SET), "only a rewind"
        self._parts, self._pending, self._position = self._produce(), b"", 0
        return 0

    def tell(self):
        return self._position

    def readinto(self, buffer):
        while len(self._pending) < len(buffer):
            part = next(self._parts, None)
            if part is None:
                break
            self._pending += part
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        self._position += size
        return size


def test_a_large_array_is_read_at_constant_memory():
    count = 200_000  # about 14 MB of JSON; json.load would hold 200,000 dicts (well over 50 MB)
    handle = GeneratedArray(count)
    tracemalloc.start()
    try:
        rows = formats.open_rows(handle, "json")
        header = next(rows)
        seen, last = 0, None
        for cells in rows:
            seen += 1
            last = cells
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert header == ["customer_id", "email", "score_note"]
    assert seen == count
    assert last[:3] == [f"C-{count - 1}", f"c{count - 1}@example.com", count - 1 + 0.5]
    assert peak < 5 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while reading the array"


def test_the_syntax_of_the_whole_array_is_checked_at_upload():
    items = ",".join(f'{{"customer_id": "C-{n}"}}' for n in range(3000))
    with pytest.raises(formats.FileProblem, match="not valid JSON"):
        upload("customers", "[" + items + ', {"customer_id": "C-x",}]', name="people.json")
    with pytest.raises(formats.FileProblem, match="not valid JSON"):
        upload("customers", "[" + items, name="people.json")  # cut off


def test_an_array_imports_row_by_row_with_row_errors(program):
    data_import = run_import(
        "customers",
        '\ufeff[{"customer_id": "J-1", "email": "j@example.com"}, 7, {"customer_id": "bad id"}]',
        name="people.json",
    )
    assert (data_import.created, data_import.failed) == (1, 2)
    codes = sorted(data_import.row_errors.values_list("code", flat=True))
    assert codes == ["113405", "not_an_object"]


def test_a_windows_1252_array_is_read_in_its_encoding(program):
    content = '[{"customer_id": "W-1", "first_name": "Zoë"}]'.encode("windows-1252")
    data_import = run_import("customers", content, name="w.json", encoding="windows-1252")
    assert data_import.created == 1
    from customers.models import Customer

    assert Customer.objects.get(customer_id="W-1").first_name == "Zoë"


def test_the_upload_limit_still_applies_to_json(settings):
    settings.DATAIO_MAX_UPLOAD_BYTES = 100
    with pytest.raises(formats.FileProblem, match="the limit is 100 bytes"):
        upload("customers", "[" + ",".join(['{"customer_id": "C-1"}'] * 10) + "]", name="big.json")


@pytest.mark.parametrize(
    "text",
    ['[{"customer_id": "U-1"}, {"customer_id": "U-2"}]', '{"customer_id": "U-1"}\n{"customer_id": "U-2"}\n'],
)
def test_utf_16_arrays_and_json_lines_are_told_apart(program, text):
    data_import = run_import("customers", text.encode("utf-16"), name="u.json", encoding="utf-16")
    assert (data_import.created, data_import.failed) == (2, 0)
