"""The one rule for values stored in JSON columns (loyalty.jsonable)."""

import datetime as dt
import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from loyalty.jsonable import jsonable


def test_decimals_become_numbers_and_dates_iso_strings():
    value = {
        1: Decimal("60.00"),
        "price": Decimal("12.30"),
        "at": dt.datetime(2025, 3, 10, 4, 59, tzinfo=dt.UTC),
        "day": dt.date(2025, 3, 10),
        "codes": ("A", "B"),
        "tags": {"b", "a"},
    }
    assert jsonable(value) == {
        "1": 60,
        "price": 12.3,
        "at": "2025-03-10T04:59:00+00:00",
        "day": "2025-03-10",
        "codes": ["A", "B"],
        "tags": ["a", "b"],
    }
    assert isinstance(jsonable(Decimal("60.00")), int)


@given(st.decimals(min_value=Decimal("-999999999999.99"), max_value=Decimal("999999999999.99"), places=2))
def test_every_amount_of_a_numeric_14_2_column_round_trips_exactly(amount):
    stored = json.loads(json.dumps(jsonable(amount)))
    assert Decimal(str(stored)) == amount


def test_the_engine_the_audit_log_and_checkout_share_it():
    from events import engine
    from loyalty.audit import log

    assert engine.jsonable is jsonable and log.jsonable is jsonable
