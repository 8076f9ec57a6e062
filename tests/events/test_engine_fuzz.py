"""Any input either registers or is refused with an EngineError that stores nothing: never a crash."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import CustomField
from loyalty.errors import EngineError
from tests.factories import counts, enroll, register

pytestmark = pytest.mark.django_db

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
KEYS = [
    "first_name",
    "email",
    "birth_date",
    "gender",
    "currency",
    "labels",
    "referrer",
    "phone",
    "score",
    "color",
    "size",
    "vip",
    "since",
    "card",
    "points",
    "source",
    "mode",
    "reason",
    "unknown_thing",
]
ACTIONS = ["opt_in", "profile", "login", "point_add", "point_spend", "merge", "suspend", "verify", "nope"]


@pytest.fixture
def fields(program):
    CustomField.objects.create(name="color", label="Color", type="choice", choices=["red", "blue"])
    CustomField.objects.create(name="size", label="Size", type="number")
    CustomField.objects.create(name="vip", label="VIP", type="boolean")
    CustomField.objects.create(name="since", label="Since", type="date")
    CustomField.objects.create(name="card", label="Card", external_id=True, regex=r"C-\d+")
    enroll("Fuzz-1")
    enroll("Other-1")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=st.sampled_from(ACTIONS),
    customer=st.sampled_from(["Fuzz-1", "Other-1", "New-1", "card:C-1", "bad id", "x:y"]) | text,
    data=st.dictionaries(st.sampled_from(KEYS) | text, values, max_size=5),
)
def test_register_event_never_crashes(fields, action, customer, data):
    before = counts()
    try:
        register(action, customer, data)
    except EngineError as error:
        assert error.code and error.message
        assert counts() == before
