"""The settings area: who may open it, and what each form accepts and refuses."""

import pytest
from django.urls import reverse

from customers.models import CustomField
from loyalty.choices import Module
from loyalty.ledger.accounts import all_accounts, default_account
from loyalty.models import PointAccount, Program, Tier, TierStructure
from tests.loyalty.helpers import assert_page_access

pytestmark = pytest.mark.django_db


@pytest.fixture
def structure(db):
    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="silver", name="Silver", threshold=0)
    Tier.objects.create(structure=structure, code="gold", name="Gold", threshold=1000)
    return structure


@pytest.fixture
def field(db):
    return CustomField.objects.create(name="shoe_size", label="Shoe size", type="number")


@pytest.mark.parametrize(
    "url_name",
    [
        "settings:program",
        "settings:account_list",
        "settings:account_add",
        "settings:tier_structure_list",
        "settings:tier_structure_add",
        "customers:custom_field_list",
        "customers:custom_field_add",
    ],
)
def test_settings_pages_are_for_administrators(client, cast, url_name):
    assert_page_access(client, cast, reverse(url_name), allowed=["administrator"])


def test_settings_edit_pages_are_for_administrators(client, cast, structure, field):
    for url in [
        reverse("settings:account_edit", args=[default_account().pk]),
        reverse("settings:tier_structure_edit", args=[structure.pk]),
        reverse("customers:custom_field_edit", args=[field.pk]),
    ]:
        assert_page_access(client, cast, url, allowed=["administrator"])


def test_saving_settings_needs_the_permission(client, cast, program):
    client.force_login(cast["program_manager"])
    response = client.post(reverse("settings:program"), {"name": "Hijacked", "base_currency": "USD"})
    assert response.status_code == 403
    assert Program.objects.get().name != "Hijacked"


def program_data(program, **changes):
    data = {"name": program.name, "base_currency": program.base_currency, "time_zone": program.time_zone}
    data.update({m.value: "on" for m in Module if getattr(program, m.value)})
    for key, value in changes.items():
        if value is False:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_the_program_page_saves_name_currency_time_zone_and_modules(admin_client, program):
    response = admin_client.post(
        reverse("settings:program"),
        program_data(
            program,
            name="Club",
            base_currency="usd",
            time_zone="Europe/Budapest",
            segments="on",
            coupons=False,
        ),
    )
    assert response.status_code == 302
    saved = Program.current()  # the save cleared the cache
    assert (saved.name, saved.base_currency, saved.time_zone) == ("Club", "USD", "Europe/Budapest")
    assert saved.segments and not saved.coupons


def test_the_program_page_shows_every_module_in_a_group(admin_client, program):
    page = admin_client.get(reverse("settings:program")).content.decode()
    for module in Module:
        assert f'name="{module.value}"' in page, module


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"base_currency": "EURO"}, "base_currency"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"name": ""}, "name"),
        ({"checkout_accept": "on", "transactions": False}, "checkout_accept"),
    ],
)
def test_the_program_page_refuses_bad_input_and_changes_nothing(admin_client, program, changes, field):
    before = Program.objects.get().updated_at
    response = admin_client.post(reverse("settings:program"), program_data(program, **changes))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Program.objects.get().updated_at == before


def account_data(**changes):
    data = {
        "code": "miles",
        "name": "Miles",
        "burn_rates": '[{"amount": 1, "points": 100, "currency": "eur"}]',
        "expiration_rule": "none",
        "expiration_period": "12",
        "expiration_unit": "months",
        "expiration_date": "",
        "expiration_rounding": "none",
    }
    data.update(changes)
    return data


def test_creating_an_account_clears_the_account_cache(admin_client):
    assert [a.code for a in all_accounts()] == ["points"]  # cached now
    response = admin_client.post(reverse("settings:account_add"), account_data())
    assert response.status_code == 302
    assert [a.code for a in all_accounts()] == ["miles", "points"]
    miles = PointAccount.objects.get(code="miles")
    assert miles.burn_rates == [{"amount": 1, "points": 100, "currency": "EUR"}]


def test_making_another_account_the_default_demotes_the_old_one(admin_client):
    old = default_account()
    admin_client.post(reverse("settings:account_add"), account_data(is_default="on"))
    assert default_account().code == "miles"
    old.refresh_from_db()
    assert not old.is_default
    assert PointAccount.objects.filter(is_default=True).count() == 1


def test_the_default_account_cannot_be_undefaulted_and_its_code_cannot_change(admin_client):
    account = default_account()
    response = admin_client.post(
        reverse("settings:account_edit", args=[account.pk]), account_data(code="renamed", name="Points")
    )
    assert response.status_code == 200 and "is_default" in response.context["form"].errors
    response = admin_client.post(
        reverse("settings:account_edit", args=[account.pk]),
        account_data(code="renamed", name="Pts", is_default="on"),
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.code, account.name, account.is_default) == ("points", "Pts", True)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"burn_rates": "not json"}, "burn_rates"),
        ({"burn_rates": '{"amount": 1}'}, "burn_rates"),
        ({"burn_rates": '[{"amount": -1, "points": 100, "currency": "EUR"}]'}, "burn_rates"),
        ({"burn_rates": '[{"amount": 1, "points": 1.5, "currency": "EUR"}]'}, "burn_rates"),
        ({"burn_rates": '[{"amount": 1, "points": 100, "currency": "EURO"}]'}, "burn_rates"),
        ({"expiration_rule": "absolute", "expiration_date": "02-30"}, "expiration_date"),
        ({"expiration_rule": "absolute", "expiration_date": ""}, "expiration_date"),
        ({"expiration_rule": "fixed_period", "expiration_date": "12-31"}, "expiration_date"),
        ({"expiration_rule": "fixed_period", "expiration_period": "0"}, "expiration_period"),
        ({"code": "has space"}, "code"),
        ({"code": "points"}, "code"),
    ],
)
def test_bad_account_input_is_refused_and_nothing_is_saved(admin_client, changes, field):
    response = admin_client.post(reverse("settings:account_add"), account_data(**changes))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not PointAccount.objects.filter(code="miles").exists()


def test_the_absolute_rule_takes_a_month_and_day(admin_client):
    response = admin_client.post(
        reverse("settings:account_add"), account_data(expiration_rule="absolute", expiration_date="12-31")
    )
    assert response.status_code == 302
    assert PointAccount.objects.get(code="miles").expiration_date == "12-31"


def test_the_account_list_filters_and_chooses_columns(admin_client):
    PointAccount.objects.create(code="miles", name="Miles")
    page = admin_client.get(reverse("settings:account_list"), {"q": "mil"}).content.decode()
    assert "Miles" in page and ">points<" not in page
    page = admin_client.get(reverse("settings:account_list"), {"columns": "name"}).content.decode()
    assert "<th" in page and "Created at" not in page.split("<table")[1]


def tier_data(structure=None, tiers=(), **changes):
    data = {"code": "main", "name": "Main", "expiration_method": "recalculate", "position": "0"}
    data.update(changes)
    existing = list(structure.tiers.all()) if structure else []
    rows = list(tiers)
    data.update(
        {
            "tiers-TOTAL_FORMS": str(len(rows)),
            "tiers-INITIAL_FORMS": str(len(existing)),
            "tiers-MIN_NUM_FORMS": "0",
            "tiers-MAX_NUM_FORMS": "1000",
        }
    )
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"tiers-{index}-{key}"] = value
    return data


def test_creating_a_structure_with_its_tiers(admin_client):
    response = admin_client.post(
        reverse("settings:tier_structure_add"),
        tier_data(
            tiers=[
                {"code": "bronze", "name": "Bronze", "threshold": "0"},
                {"code": "silver", "name": "Silver", "threshold": "500"},
                {"code": "", "name": "", "threshold": "0"},  # an untouched extra row
            ]
        ),
    )
    assert response.status_code == 302
    structure = TierStructure.objects.get(code="main")
    assert [(t.code, t.threshold) for t in structure.tiers.all()] == [("bronze", 0), ("silver", 500)]


def test_editing_tiers_and_deleting_an_unused_one(admin_client, structure):
    silver, gold = structure.tiers.all()
    response = admin_client.post(
        reverse("settings:tier_structure_edit", args=[structure.pk]),
        tier_data(
            structure,
            tiers=[
                {
                    "id": str(silver.pk),
                    "structure": str(structure.pk),
                    "code": "silver",
                    "name": "Silver",
                    "threshold": "0",
                },
                {
                    "id": str(gold.pk),
                    "structure": str(structure.pk),
                    "code": "gold",
                    "name": "Gold",
                    "threshold": "900",
                    "DELETE": "on",
                },
            ],
            name="Renamed",
        ),
    )
    assert response.status_code == 302
    structure.refresh_from_db()
    assert structure.name == "Renamed"
    assert [t.code for t in structure.tiers.all()] == ["silver"]


def test_two_tiers_with_one_threshold_are_refused(admin_client):
    response = admin_client.post(
        reverse("settings:tier_structure_add"),
        tier_data(
            tiers=[
                {"code": "a", "name": "A", "threshold": "100"},
                {"code": "b", "name": "B", "threshold": "100"},
            ]
        ),
    )
    assert response.status_code == 200
    assert "threshold 100" in str(response.context["tiers"].non_form_errors())
    assert not TierStructure.objects.exists()


def field_data(**changes):
    data = {
        "name": "member_card",
        "label": "Member card",
        "type": "string",
        "choices": "",
        "regex": "",
        "position": "0",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def test_creating_a_choice_field(admin_client):
    response = admin_client.post(
        reverse("customers:custom_field_add"),
        field_data(name="favourite", type="choice", choices="red\nblue\n\n", searchable="on"),
    )
    assert response.status_code == 302
    saved = CustomField.objects.get(name="favourite")
    assert saved.choices == ["red", "blue"] and saved.searchable


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"type": "choice"}, "choices"),
        ({"type": "number", "choices": "1\n2"}, "choices"),
        ({"regex": "(unclosed"}, "regex"),
        ({"type": "number", "regex": "^\\d+$"}, "regex"),
        ({"type": "number", "external_id": "on"}, "external_id"),
        ({"name": "email"}, "name"),
        ({"name": "not a slug"}, "name"),
    ],
)
def test_bad_custom_fields_are_refused(admin_client, changes, field):
    response = admin_client.post(reverse("customers:custom_field_add"), field_data(**changes))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not CustomField.objects.exists()


def test_external_id_is_irreversible(admin_client):
    admin_client.post(reverse("customers:custom_field_add"), field_data(external_id="on"))
    field = CustomField.objects.get(name="member_card")
    assert field.external_id
    url = reverse("customers:custom_field_edit", args=[field.pk])
    response = admin_client.post(url, field_data(label="Card"))  # external_id unticked
    assert response.status_code == 200 and "external_id" in response.context["form"].errors
    response = admin_client.post(url, field_data(label="Card", type="number", external_id="on"))
    field.refresh_from_db()
    assert field.type == "string"  # the type is locked once it is an external ID
    assert field.external_id


def test_an_existing_field_nobody_uses_can_become_an_external_id(admin_client):
    field = CustomField.objects.create(name="loyalty_card", label="Card", type="string")
    response = admin_client.post(
        reverse("customers:custom_field_edit", args=[field.pk]),
        field_data(name="ignored", label="Card", external_id="on"),
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert field.external_id and field.name == "loyalty_card"  # the name never changes


def test_settings_changes_are_written_to_the_change_log(admin_client, program, admin_user):
    from loyalty.audit.models import ChangeLogEntry

    admin_client.post(reverse("settings:program"), program_data(program, name="Logged Club"))
    admin_client.post(reverse("settings:account_add"), account_data())
    entries = list(ChangeLogEntry.objects.order_by("pk"))
    assert [e.action for e in entries] == ["settings_program_change", "settings_pointaccount_create"]
    assert entries[0].before == {"name": program.name} and entries[0].after == {"name": "Logged Club"}
    assert entries[0].user == admin_user and entries[1].after["code"] == "miles"


def test_saving_an_unchanged_form_logs_nothing(admin_client, program):
    from loyalty.audit.models import ChangeLogEntry

    admin_client.post(reverse("settings:program"), program_data(program))
    assert not ChangeLogEntry.objects.exists()


def test_the_account_list_filters_by_default_with_any_yes_no(admin_client):
    default_account()
    PointAccount.objects.create(code="miles", name="Miles")
    page = admin_client.get(reverse("settings:account_list"), {"is_default": "false"}).content.decode()
    assert ">miles<" in page and ">points<" not in page
    assert (
        '<option value="" selected>Any</option>'
        in admin_client.get(reverse("settings:account_list")).content.decode()
    )


def test_saving_a_point_account_reaches_the_cached_accounts_without_a_manual_clear(program):
    from loyalty.ledger.accounts import all_accounts
    from loyalty.models import PointAccount

    assert [a.code for a in all_accounts()] == ["points"]
    PointAccount.objects.create(code="status", name="Status points")
    assert sorted(a.code for a in all_accounts()) == ["points", "status"]
    account = PointAccount.objects.get(code="status")
    account.name = "Status"
    account.save()
    assert {a.code: a.name for a in all_accounts()}["status"] == "Status"


def test_a_tier_structure_account_id_beyond_64_bits_is_refused_on_the_field(admin_client):
    """Before: accounts=10000000000000000000000000000 raised OverflowError on SQLite (a 500)."""
    response = admin_client.post(reverse("settings:tier_structure_add"), tier_data(accounts=[str(10**28)]))
    assert response.status_code == 200 and "accounts" in response.context["form"].errors
    assert not TierStructure.objects.filter(code="main").exists()


def stale_tab_data(structure, silver, new_tier):
    """The edit page as a second tab loaded it while only Silver existed, with one tier added."""
    data = tier_data(
        tiers=[
            {
                "id": str(silver.pk),
                "structure": str(structure.pk),
                "code": "silver",
                "name": "Silver",
                "threshold": "0",
            },
            {"structure": str(structure.pk), **new_tier},
        ],
    )
    data["tiers-INITIAL_FORMS"] = "1"
    return data


@pytest.mark.parametrize(
    ("new_tier", "message"),
    [
        ({"code": "gold", "name": "Gold 2", "threshold": "500"}, "gold"),  # before: IntegrityError, a 500
        ({"code": "platinum", "name": "Platinum", "threshold": "1000"}, "1000"),  # before: stored
    ],
    ids=["same-code", "same-threshold"],
)
def test_a_stale_tab_adding_a_tier_another_admin_just_added_is_refused(
    admin_client, structure, new_tier, message
):
    """Two administrators edit the same structure: the second tab still shows Silver only and adds
    a tier whose code or threshold Gold (saved meanwhile) already uses."""
    silver = structure.tiers.get(code="silver")
    response = admin_client.post(
        reverse("settings:tier_structure_edit", args=[structure.pk]),
        stale_tab_data(structure, silver, new_tier),
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["tiers"].non_form_errors())
    assert sorted(structure.tiers.values_list("code", "threshold")) == [("gold", 1000), ("silver", 0)]
