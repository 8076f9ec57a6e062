"""The form-encoded bracket parser."""

from urllib.parse import parse_qsl

import pytest
from rest_framework.exceptions import ParseError

from loyalty.api.parsers import parse_brackets


def parse(text):
    return parse_brackets(parse_qsl(text, keep_blank_values=True))


def test_nested_objects_and_lists():
    assert parse("customer=1&data[items][0][price]=200&data[items][1][price]=5&data[total]=205") == {
        "customer": "1",
        "data": {"items": [{"price": "200"}, {"price": "5"}], "total": "205"},
    }


def test_append_syntax_and_sparse_indices():
    assert parse("tags[]=a&tags[]=b") == {"tags": ["a", "b"]}
    assert parse("x[3]=c&x[1]=a") == {"x": ["a", "c"]}


def test_plain_keys_with_odd_brackets_stay_plain():
    assert parse("a]b=1&[x]=2") == {"a]b": "1", "[x]": "2"}


def test_blank_values_are_kept_and_the_last_duplicate_wins():
    assert parse("a=&b=1&b=2") == {"a": "", "b": "2"}


@pytest.mark.parametrize("text", ["a=1&a[b]=2", "a[b]=2&a=1", "a[99999]=1", "a" + "[x]" * 13 + "=1"])
def test_conflicts_and_abuse_are_parse_errors(text):
    with pytest.raises(ParseError):
        parse(text)


def test_non_ascii_digit_segments_are_plain_keys_not_indices():
    """Found by the signed fuzzer: "²".isdigit() is true but int("²") fails (was a 500)."""
    assert parse("a[%C2%B2]=1&b[%D9%A1]=2") == {"a": {"\u00b2": "1"}, "b": {"\u0661": "2"}}
