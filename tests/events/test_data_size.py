"""check_size skips dumping a flat object it can bound without dumping (events.validation
._size_bound): the bound is never below the size it stands for, and the limit is still enforced
for data that reaches it."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.validation import _size_bound, check_size
from loyalty.errors import ValidationError

_values = st.one_of(
    st.text(),
    st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1),
    st.booleans(),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), _values, max_size=6))
def test_the_bound_is_never_below_the_dumped_size(data):
    size = len(json.dumps(data, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    assert _size_bound(data) >= size


def test_escapes_and_wide_characters_stay_within_the_bound():
    for text in ["\x00\x01\x1f", '"\\', "\u2028é€😀", "\ud800"]:
        data = {text: text * 50}
        size = len(json.dumps(data, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        assert _size_bound(data) >= size


def test_data_past_the_limit_is_still_refused(settings):
    settings.EVENT_DATA_MAX_BYTES = 100
    check_size({"note": "x" * 10})  # bounded below the limit: accepted without dumping
    check_size({"note": "x" * 80})  # bound above the limit, dumped size below it: accepted
    with pytest.raises(ValidationError):
        check_size({"note": "x" * 120})
    with pytest.raises(ValidationError):
        check_size({"nested": {"note": "x" * 120}})
