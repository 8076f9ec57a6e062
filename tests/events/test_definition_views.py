"""Console pages for event definitions: who may see and edit them, and what a save does."""

import pytest
from django.urls import reverse

from events.models import Event, EventAttribute, EventDefinition
from loyalty.errors import MissingParameter, UnknownAction
from tests.factories import enroll, register
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

pytestmark = pytest.mark.django_db

MANAGERS = ("administrator",)


def form_data(**overrides):
    data = {
        "action": "wishlist_add",
        "label": "Wishlist add",
        "points": "5",
        "active": "on",
        "attributes-TOTAL_FORMS": "3",
        "attributes-INITIAL_FORMS": "0",
        "attributes-MIN_NUM_FORMS": "0",
        "attributes-MAX_NUM_FORMS": "1000",
        "attributes-0-name": "product",
        "attributes-0-type": "string",
        "attributes-0-required": "on",
        "attributes-1-name": "quantity",
        "attributes-1-type": "integer",
        "attributes-2-name": "",  # an empty row, as the browser posts it
        "attributes-2-type": "string",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def managers(cast):
    return [role for role, user in cast.items() if user.has_perm("loyalty.manage_settings")]


def test_every_staff_role_sees_the_list_with_the_built_in_catalog(client, cast):
    EventDefinition.objects.create(action="wishlist_add", label="Wishlist add")
    responses = assert_page_access(client, cast, reverse("events:definition_list"), allowed=STAFF_ROLES)
    page = responses["analyst"].content.decode()
    assert "wishlist_add" in page and "point_expire" in page and "internal" in page
    assert "console only" in page
    assert "<code>password</code>" not in page  # secret attributes are not advertised
    assert "<code>first_name</code>" in page
    assert "New event definition" not in page
    assert "New event definition" in responses["administrator"].content.decode()


def test_only_settings_managers_open_the_editor(client, cast):
    assert_page_access(client, cast, reverse("events:definition_add"), allowed=managers(cast))


def test_creating_a_custom_event_makes_it_registrable_at_once(client, cast, program):
    client.force_login(cast["administrator"])
    enroll("Anna-1")
    with pytest.raises(UnknownAction):
        register("wishlist_add", "Anna-1", {"product": "SKU-1"})
    response = client.post(reverse("events:definition_add"), form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    definition = EventDefinition.objects.get(action="wishlist_add")
    assert [(a.name, a.type, a.required) for a in definition.attributes.all()] == [
        ("product", "string", True),
        ("quantity", "integer", False),
    ]
    with pytest.raises(MissingParameter):
        register("wishlist_add", "Anna-1", {"quantity": 1})
    register("wishlist_add", "Anna-1", {"product": "SKU-1"})
    assert Event.objects.get(action="wishlist_add").points == 5


def test_editing_keeps_the_action_name(client, cast, program):
    client.force_login(cast["administrator"])
    definition = EventDefinition.objects.create(action="wishlist_add", label="Wishlist add")
    attribute = EventAttribute.objects.create(definition=definition, name="product")
    data = form_data(
        action="renamed",
        label="Wishlist",
        **{
            "attributes-INITIAL_FORMS": "1",
            "attributes-0-id": str(attribute.pk),
            "attributes-0-definition": str(definition.pk),
        },
    )
    response = client.post(reverse("events:definition_edit", args=[definition.pk]), data)
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.action, definition.label) == ("wishlist_add", "Wishlist")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"action": "point_add"}, "built-in action has this name"),
        ({"action": "point_expire", "builtin_extension": "on", "points": "0"}, "Internal actions cannot"),
        ({"action": "nothing_builtin", "builtin_extension": "on", "points": "0"}, "Only a built-in action"),
        ({"action": "profile", "builtin_extension": "on", "points": "10"}, "leave this 0"),
        ({"attributes-1-name": "product"}, "duplicate data for name"),
        ({"attributes-1-name": "customer"}, "default event attribute"),
        ({"action": "Not a slug!"}, "valid"),
    ],
)
def test_invalid_definitions_are_refused_with_a_message(client, cast, overrides, message):
    client.force_login(cast["administrator"])
    response = client.post(reverse("events:definition_add"), form_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not EventDefinition.objects.exists()


def test_extending_a_built_in_action_with_its_own_attribute_is_refused(client, cast):
    client.force_login(cast["administrator"])
    data = form_data(action="profile", builtin_extension="on", points="0", **{"attributes-0-name": "email"})
    response = client.post(reverse("events:definition_add"), data)
    assert "already an attribute of the built-in action" in response.content.decode()


def test_a_built_in_extension_adds_a_required_attribute(client, cast, program):
    client.force_login(cast["administrator"])
    data = form_data(
        action="login",
        label="Login",
        builtin_extension="on",
        points="0",
        **{"attributes-0-name": "channel", "attributes-1-name": "", "attributes-1-type": "string"},
    )
    assert client.post(reverse("events:definition_add"), data).status_code == 302
    enroll("Anna-1")
    with pytest.raises(MissingParameter):
        register("login", "Anna-1")
    register("login", "Anna-1", {"channel": "app"})


def test_the_list_filters_by_kind(client, cast):
    EventDefinition.objects.create(action="wishlist_add", label="Wishlist add")
    EventDefinition.objects.create(action="profile", label="Profile", builtin_extension=True)
    client.force_login(cast["analyst"])
    page = client.get(reverse("events:definition_list"), {"builtin_extension": "true"}).content.decode()
    assert 'href="/events/definitions/' in page
    assert ">profile<" in page and ">wishlist_add<" not in page


def test_a_stale_tab_adding_an_attribute_saved_meanwhile_is_refused_with_a_message(client, cast, program):
    """The second tab still shows "product" only and adds "size", which another tab saved
    meanwhile. Before: IntegrityError on (definition, name), a 500."""
    client.force_login(cast["administrator"])
    definition = EventDefinition.objects.create(action="wishlist_add", label="Wishlist add")
    product = EventAttribute.objects.create(definition=definition, name="product")
    EventAttribute.objects.create(definition=definition, name="size", type="string")
    data = form_data(
        **{
            "attributes-INITIAL_FORMS": "1",
            "attributes-0-id": str(product.pk),
            "attributes-0-definition": str(definition.pk),
            "attributes-1-name": "size",
            "attributes-1-type": "integer",
        },
    )
    response = client.post(reverse("events:definition_edit", args=[definition.pk]), data)
    assert response.status_code == 200
    assert "size" in " ".join(response.context["attributes"].non_form_errors())
    assert sorted(definition.attributes.values_list("name", "type")) == [
        ("product", "string"),
        ("size", "string"),
    ]
