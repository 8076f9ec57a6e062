"""View-test base classes for console pages, in the spirit of NetBox's `utilities.testing.ViewTestCases`.

Declare what a page is; the base class brings the tests every page of its kind needs::

    from tests import factories
    from tests.viewtests import ViewTestCases

    class TestLabelList(ViewTestCases.ListView):
        url_name = "customers:label_list"
        factory = factories.LabelFactory

    class TestLabelEdit(ViewTestCases.EditView):
        add_url_name = "customers:label_add"
        edit_url_name = "customers:label_edit"
        factory = factories.LabelFactory
        form_data = {"name": "Gold", "active": "on"}
        invalid_form_data = {"name": ""}

Who may open a page is not repeated here: the roles come from the one access table,
tests/structure/console_access.py (`ACCESS`), which the URLconf walk keeps complete.

- `ListView`: each role gets what ACCESS says, the page lists every object, and the number of
  queries does not grow with the number of rows (no N+1) and stays under `max_queries`.
- `EditView`: the add page creates an object from `form_data`, the edit page changes one, invalid
  data changes nothing and shows the error on the page, and a role ACCESS does not allow gets 403
  on POST with nothing written.
- `EventActionView`: a "do X to this customer, with a reason" page (loyalty.console.views.
  EventActionView): a POST registers one `action` event through the engine, from the platform,
  with the user and the reason; without a reason, or by a role ACCESS does not allow, no event.

Only classes named `Test...` are collected, so the bases themselves never run.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Event
from tests import factories
from tests.structure.console_access import ACCESS


def _roles(url_name: str) -> tuple[str, ...]:
    assert url_name in ACCESS, f"{url_name} has no row in tests/structure/console_access.ACCESS"
    return ACCESS[url_name].roles


def _form_errors(response) -> str:
    """The form's errors of a page that did not redirect, for the assertion message."""
    form = (response.context or {}).get("form") if response.status_code == 200 else None
    return f"{response.status_code}: {form.errors.as_json() if form is not None else ''}"


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    return len(captured.captured_queries)


class ViewTestCases:
    class ListView:
        """A console list page (`ObjectListView`) of `factory`'s model."""

        url_name: ClassVar[str]
        factory: ClassVar[Any]
        max_queries: ClassVar[int] = 20

        def url(self) -> str:
            return reverse(self.url_name)

        def shown_as(self, obj) -> str:
            """The text that identifies `obj` on the page."""
            return str(obj)

        @pytest.fixture(autouse=True)
        def _program(self, program):
            return program

        def test_each_role_gets_what_the_access_table_says(self, client, cast):
            allowed = _roles(self.url_name)
            url = self.url()
            for role, user in cast.items():
                client.force_login(user)
                status = client.get(url).status_code
                assert status == (200 if role in allowed else 403), f"{role} GET {url}: {status}"
                client.logout()

        def test_lists_every_object(self, admin_client):
            objects = self.factory.create_batch(3)
            html = admin_client.get(self.url()).content.decode()
            for obj in objects:
                assert self.shown_as(obj) in html, f"{obj!r} is not on {self.url()}"

        def test_query_count_does_not_grow_with_the_rows(self, admin_client):
            self.factory.create_batch(2)
            admin_client.get(self.url())  # warm the configuration cache
            few = _count_queries(admin_client, self.url())
            self.factory.create_batch(8)
            many = _count_queries(admin_client, self.url())
            assert many == few, f"{self.url()}: {few} queries for 2 rows, {many} for 10 (N+1)"
            assert many <= self.max_queries

    class EditView:
        """A console create/edit page pair (`ObjectEditView`) of `factory`'s model."""

        add_url_name: ClassVar[str]
        edit_url_name: ClassVar[str]
        factory: ClassVar[Any]
        form_data: ClassVar[dict]
        invalid_form_data: ClassVar[dict]
        error_text: ClassVar[str] = "This field is required."

        @property
        def model(self):
            return self.factory._meta.model

        def assert_saved(self, obj) -> None:
            """`obj` (fresh from the database) carries `form_data`; override for non-field data."""
            for name, value in self.form_data.items():
                if value == "on":
                    value = True
                actual = getattr(obj, name)
                assert str(actual) == str(value), f"{name}: {actual!r} != {value!r}"

        def form(self, **changes) -> dict:
            return {**self.form_data, **changes}

        @pytest.fixture(autouse=True)
        def _program(self, program):
            return program

        def test_add_creates_the_object(self, admin_client):
            before = set(self.model.objects.values_list("pk", flat=True))
            response = admin_client.post(reverse(self.add_url_name), self.form())
            assert response.status_code == 302, _form_errors(response)
            created = self.model.objects.exclude(pk__in=before)
            assert created.count() == 1
            self.assert_saved(created.get())

        def test_edit_changes_the_object(self, admin_client):
            obj = self.factory()
            response = admin_client.post(reverse(self.edit_url_name, kwargs={"pk": obj.pk}), self.form())
            assert response.status_code == 302, _form_errors(response)
            obj.refresh_from_db()
            self.assert_saved(obj)

        def test_invalid_data_changes_nothing_and_says_why(self, admin_client):
            obj = self.factory()
            count = self.model.objects.count()
            snapshot = self.model.objects.filter(pk=obj.pk).values().get()
            for url in reverse(self.add_url_name), reverse(self.edit_url_name, kwargs={"pk": obj.pk}):
                response = admin_client.post(url, self.invalid_form_data)
                assert response.status_code == 200
                assert self.error_text in response.content.decode(), _form_errors(response)
            assert self.model.objects.count() == count
            assert self.model.objects.filter(pk=obj.pk).values().get() == snapshot

        def test_only_the_allowed_roles_may_save(self, client, cast):
            allowed = _roles(self.add_url_name)
            assert set(_roles(self.edit_url_name)) == set(allowed)
            obj = self.factory()
            count = self.model.objects.count()
            snapshot = self.model.objects.filter(pk=obj.pk).values().get()
            for role, user in cast.items():
                if role in allowed:
                    continue
                client.force_login(user)
                for url in reverse(self.add_url_name), reverse(self.edit_url_name, kwargs={"pk": obj.pk}):
                    assert client.post(url, self.form()).status_code == 403, f"{role} POST {url}"
                client.logout()
            assert self.model.objects.count() == count
            assert self.model.objects.filter(pk=obj.pk).values().get() == snapshot

    class EventActionView:
        """A console page that registers one event on a customer with a reason."""

        url_name: ClassVar[str]
        action: ClassVar[str]  # the event the page registers
        form_data: ClassVar[dict] = {}  # fields besides the reason

        def make_customer(self):
            """The customer the page acts on (through the engine); override for other states."""
            return factories.anna(points=500)

        def url(self, customer) -> str:
            return reverse(self.url_name, kwargs={"ref": customer.customer_id})

        @pytest.fixture
        def customer(self, program):
            return self.make_customer()

        def events(self):
            return Event.objects.filter(action=self.action)

        def test_each_role_gets_what_the_access_table_says(self, client, cast, customer):
            allowed = _roles(self.url_name)
            url = self.url(customer)
            for role, user in cast.items():
                client.force_login(user)
                status = client.get(url).status_code
                assert status == (200 if role in allowed else 403), f"{role} GET {url}: {status}"
                client.logout()

        def test_posting_registers_one_event_with_the_user_and_the_reason(self, admin_client, customer):
            before = self.events().count()
            response = admin_client.post(self.url(customer), {**self.form_data, "reason": "asked by phone"})
            assert response.status_code == 302, _form_errors(response)
            assert self.events().count() == before + 1
            event = self.events().latest("pk")
            assert (event.source, event.reason, event.admin_user.username) == (
                "platform",
                "asked by phone",
                "administrator",
            )

        def test_without_a_reason_nothing_happens(self, admin_client, customer):
            count = Event.objects.count()
            response = admin_client.post(self.url(customer), {**self.form_data, "reason": "  "})
            assert response.status_code == 200
            assert "This field is required." in response.content.decode(), _form_errors(response)
            assert Event.objects.count() == count

        def test_a_role_the_table_does_not_allow_changes_nothing(self, client, cast, customer):
            allowed = _roles(self.url_name)
            count = Event.objects.count()
            for role, user in cast.items():
                if role in allowed:
                    continue
                client.force_login(user)
                response = client.post(self.url(customer), {**self.form_data, "reason": "because"})
                assert response.status_code == 403, f"{role} POST {self.url(customer)}"
                client.logout()
            assert Event.objects.count() == count
