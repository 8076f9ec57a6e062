"""loyalty.console.reversing: the per-process URL templates give exactly Django's reverse(), and
values reverse() would quote or refuse go through reverse() itself."""

import pytest
from django.urls import NoReverseMatch, reverse

from loyalty.console.navigation import NAVIGATION
from loyalty.console.paging import capped_count, capped_counts
from loyalty.console.reversing import fast_reverse
from loyalty.console.views import CappedBadge

REFS = ["Anna-1", "a", "0", "x_y-Z9", "42"]


@pytest.mark.parametrize("ref", REFS)
def test_profile_urls_equal_reverse(ref):
    from customers.tabs import CUSTOMER_TABS, PROFILE_ACTIONS

    for name in [tab.url_name for tab in CUSTOMER_TABS] + [action.url_name for action in PROFILE_ACTIONS]:
        assert fast_reverse(name, ref=ref) == reverse(name, kwargs={"ref": ref}), name


def test_two_values_and_an_int_converter():
    url = fast_reverse("customers:customer_event_detail", ref="Anna-1", event_id=77)
    assert url == reverse("customers:customer_event_detail", kwargs={"ref": "Anna-1", "event_id": 77})
    assert url == "/customers/Anna-1/events/77/"


def test_navigation_urls_equal_reverse():
    for item in NAVIGATION:
        assert fast_reverse(item.url_name) == reverse(item.url_name)


@pytest.mark.parametrize("ref", ["Ann a", "ä-1", "a?b", "x%y", "name:Ann"])
def test_values_reverse_would_quote_go_through_reverse(ref):
    assert fast_reverse("customers:customer_overview", ref=ref) == reverse(
        "customers:customer_overview", kwargs={"ref": ref}
    )


@pytest.mark.parametrize("kwargs", [{"ref": "a/b"}, {"ref": ""}, {"ref": "Anna-1", "event_id": "x"}])
def test_values_reverse_refuses_are_refused(kwargs):
    name = "customers:customer_event_detail" if "event_id" in kwargs else "customers:customer_overview"
    with pytest.raises(NoReverseMatch):
        reverse(name, kwargs=kwargs)
    with pytest.raises(NoReverseMatch):
        fast_reverse(name, **kwargs)


@pytest.mark.django_db
def test_capped_counts_agree_with_capped_count():
    from django.contrib.auth.models import Permission, User
    from django.contrib.contenttypes.models import ContentType

    user_type = ContentType.objects.get_for_model(User)  # four permissions: add, change, delete, view
    counts = [(Permission, "content_type", user_type.pk), (Permission, "content_type", -1), (User, "id", -1)]
    for cap in (2, 4, 99):
        expected = [
            capped_count(model.objects.filter(**{field: value}), cap=cap) for model, field, value in counts
        ]
        assert capped_counts(counts, cap=cap) == expected
    assert capped_counts(counts, cap=3) == [(3, True), (0, False), (0, False)]
    assert capped_counts([]) == []
    assert CappedBadge(Permission, "content_type", 3)(user_type) == "3+"
    assert CappedBadge(Permission, "content_type", 4)(user_type) == 4
