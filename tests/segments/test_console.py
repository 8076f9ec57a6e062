"""Console pages of segments and lists: roles, module switch, editor with live preview, members,
status actions, clone, import report, lists with membership events, customer list filters and
the Overview tab."""

import io

import pytest
from django.urls import reverse
from django.utils.html import escape

from customers.models import Customer, CustomField
from events.models import Event
from segments.models import CustomerList, CustomerListMember, Segment, SegmentImport, SegmentMember
from tests.loyalty.helpers import assert_page_access

from .test_conditions import leaf, tree


@pytest.fixture
def on(program):
    program.segments = True
    program.save()
    return program


@pytest.fixture
def people(on, enroll_customer):
    enroll_customer(
        "de-rich", points=500, country="DE", first_name="Dora", last_name="Rich", email="dora@example.com"
    )
    enroll_customer("de-poor", points=5, country="DE")
    enroll_customer("at-rich", points=800, country="AT")
    return on


def editor_post(name, *groups, match="all", **extra):
    data = {"name": name, "description": "", "match": match, **extra}
    for index, (group_match, lines) in enumerate(groups):
        data[f"group-{index}-match"] = group_match
        data[f"group-{index}-conditions"] = "\n".join(lines)
    return data


def test_pages_per_role(client, cast, people):
    segment = Segment.objects.create(name="S", conditions=tree(leaf("score", "ge", "1")))
    customer_list = CustomerList.objects.create(name="L")
    staff = ["administrator", "program_manager", "support_agent", "analyst", "approver"]
    assert_page_access(client, cast, reverse("segments:segment_list"), allowed=staff)
    assert_page_access(client, cast, reverse("segments:segment_members", args=[segment.pk]), allowed=staff)
    assert_page_access(client, cast, reverse("segments:list_list"), allowed=staff)
    assert_page_access(client, cast, reverse("segments:list_detail", args=[customer_list.pk]), allowed=staff)
    managers = ["administrator", "program_manager"]
    assert_page_access(client, cast, reverse("segments:segment_add"), allowed=managers)
    assert_page_access(client, cast, reverse("segments:segment_edit", args=[segment.pk]), allowed=managers)
    assert_page_access(client, cast, reverse("segments:list_add"), allowed=managers)


def test_module_switch_gates_the_pages_and_navigation(admin_client, program):
    assert admin_client.get(reverse("segments:segment_list")).status_code == 404
    assert admin_client.get(reverse("segments:list_list")).status_code == 404
    assert (
        reverse("segments:segment_list")
        not in admin_client.get(reverse("customers:customer_list")).content.decode()
    )
    program.segments = True
    program.save()
    assert admin_client.get(reverse("segments:segment_list")).status_code == 200


def test_create_segment_with_two_groups_builds_and_shows_members(
    admin_client, people, django_capture_on_commit_callbacks
):
    data = editor_post(
        "Rich Germans or Austrians",
        ("all", ["country:eq:DE", "score:ge:100"]),
        ("all", ["country:eq:AT"]),
        match="any",
    )
    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(reverse("segments:segment_add"), data)
    segment = Segment.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "segments:segment_members", args=[segment.pk]
    )
    # The save does not build: the segment shows "building" until the queued task has run.
    assert segment.build_status == "building" and segment.member_count == 0 and len(queued) == 1
    status_url = reverse("segments:segment_status", args=[segment.pk])
    page = admin_client.get(response["Location"]).content.decode()
    assert 'data-status="building"' in page and f'hx-get="{status_url}"' in page
    assert "HX-Refresh" not in admin_client.get(status_url, headers={"HX-Request": "true"})
    for build in queued:
        build()  # the django-q2 task (inline in tests)
    segment.refresh_from_db()
    assert segment.build_status == "ready" and segment.member_count == 2 and segment.last_built_at is not None
    assert admin_client.get(status_url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    assert segment.conditions["match"] == "any" and len(segment.conditions["conditions"]) == 2
    page = admin_client.get(response["Location"])
    shown = {c.customer_id for c in page.context["page"].rows}
    assert shown == {"de-rich", "at-rich"}
    # The editor shows the saved groups again.
    edit = admin_client.get(reverse("segments:segment_edit", args=[segment.pk])).content.decode()
    assert "country:eq:DE\nscore:ge:100" in edit and "country:eq:AT" in edit


def test_preview_counts_live_and_reports_errors_with_their_place(admin_client, people):
    url = reverse("segments:segment_preview")
    one = admin_client.post(url, editor_post("x", ("all", ["country:eq:DE"])))
    assert one.context["result"]["count"] == 2
    two = admin_client.post(url, editor_post("x", ("all", ["country:eq:DE"]), ("all", ["score:ge:100"])))
    assert two.context["result"]["count"] == 1
    assert 'data-testid="preview-count">1<' in two.content.decode()
    bad = admin_client.post(url, editor_post("x", ("all", ["country:eq:DE"]), ("all", ["score:ge:many"])))
    assert bad.context["errors"] == ["Group 2, condition 1: Score: “many” is not a whole number."]
    garbled = admin_client.post(url, editor_post("x", ("all", ["nonsense"])))
    assert "Group 1, line 1" in garbled.context["errors"][0]


def test_bad_definition_is_a_form_error_and_saves_nothing(admin_client, people):
    response = admin_client.post(reverse("segments:segment_add"), editor_post("x", ("all", ["shoe:eq:1"])))
    assert response.status_code == 200
    assert "Unknown attribute “shoe”" in response.content.decode()
    assert not Segment.objects.exists()


def test_cycle_is_refused_in_the_editor(admin_client, people):
    a = Segment.objects.create(name="A", conditions=tree(leaf("score", "ge", "1")))
    b = Segment.objects.create(name="B", conditions=tree(leaf("segment", "eq", str(a.pk))))
    response = admin_client.post(
        reverse("segments:segment_edit", args=[a.pk]), editor_post("A", ("all", [f"segment:eq:{b.pk}"]))
    )
    assert response.status_code == 200 and "cycle" in response.content.decode()
    a.refresh_from_db()
    assert a.conditions == tree(leaf("score", "ge", "1"))


def test_add_group_button_adds_an_empty_group(admin_client, people):
    response = admin_client.post(
        reverse("segments:segment_add"), editor_post("x", ("all", ["country:eq:DE"]), add_group="1")
    )
    assert len(response.context["groups"]) == 2 and not Segment.objects.exists()


def test_inactivate_archive_clone(admin_client, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("segments:segment_add"), editor_post("Germans", ("all", ["country:eq:DE"])))
    segment = Segment.objects.get()
    action = lambda name: admin_client.post(reverse("segments:segment_action", args=[segment.pk, name]))  # noqa: E731
    with django_capture_on_commit_callbacks(execute=True):
        action("clone")
    copy = Segment.objects.exclude(pk=segment.pk).get()
    assert copy.name == "Germans (copy)" and copy.member_count == 2
    action("inactivate")
    segment.refresh_from_db()
    assert segment.status == "inactive"
    action("archive")
    segment.refresh_from_db()
    assert segment.status == "archived" and segment.member_count == 0
    assert not SegmentMember.objects.filter(segment=segment, left_at__isnull=True).exists()
    assert admin_client.get(reverse("segments:segment_edit", args=[segment.pk])).status_code == 404
    # Archived segments are hidden from the default list.
    listed = admin_client.get(reverse("segments:segment_list")).content.decode()
    assert "Germans (copy)" in listed and ">Germans</a>" not in listed


def test_customer_list_filters_by_segment_and_list_and_overview_shows_them(
    admin_client, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("segments:segment_add"), editor_post("Germans", ("all", ["country:eq:DE"])))
    segment = Segment.objects.get()
    customer_list = CustomerList.objects.create(name="Newsletter")
    admin_client.post(
        reverse("segments:list_member_add", args=[customer_list.pk]),
        {"customer": "dora@example.com", "reason": "asked"},
    )
    listing = reverse("customers:customer_list")
    by_segment = admin_client.get(listing, {"segment": segment.pk})
    assert {c.customer_id for c in by_segment.context["page"].rows} == {"de-rich", "de-poor"}
    by_list = admin_client.get(listing, {"list": customer_list.pk})
    assert {c.customer_id for c in by_list.context["page"].rows} == {"de-rich"}
    by_condition = admin_client.get(listing, {"f": f"segment:eq:{segment.pk}"})
    assert {c.customer_id for c in by_condition.context["page"].rows} == {"de-rich", "de-poor"}
    overview = admin_client.get(reverse("customers:customer_overview", args=["de-rich"])).content.decode()
    assert "Germans" in overview and "Newsletter" in overview


def test_list_member_add_and_remove_are_events_from_the_console(admin_client, admin_user, people):
    customer_list = CustomerList.objects.create(name="Newsletter")
    admin_client.post(
        reverse("segments:list_member_add", args=[customer_list.pk]),
        {"customer": "Dora Rich", "reason": "fair"},
    )
    customer = Customer.objects.get(customer_id="de-rich")
    assert CustomerListMember.objects.filter(customer_list=customer_list, customer=customer).exists()
    event = Event.objects.get(action="customer_list_add")
    assert (event.source, event.admin_user, event.reason, event.data["list"]) == (
        "platform",
        admin_user,
        "fair",
        customer_list.pk,
    )
    remove = reverse("segments:list_member_remove", args=[customer_list.pk, customer.pk])
    assert "Remove" in admin_client.get(remove).content.decode()  # the confirmation
    admin_client.post(remove, {"reason": "left"})
    assert not CustomerListMember.objects.exists()
    assert Event.objects.filter(action="customer_list_remove", reason="left").exists()
    # Nobody matches: a message, nothing changes.
    response = admin_client.post(
        reverse("segments:list_member_add", args=[customer_list.pk]), {"customer": "ghost"}, follow=True
    )
    assert "No single customer matches" in response.content.decode()


def test_list_archive_rules_in_the_console(admin_client, people):
    customer_list = CustomerList.objects.create(name="L")
    response = admin_client.post(
        reverse("segments:list_status", args=[customer_list.pk, "archive"]), follow=True
    )
    assert "Only an inactive list can be archived" in response.content.decode()
    admin_client.post(reverse("segments:list_status", args=[customer_list.pk, "inactivate"]))
    admin_client.post(reverse("segments:list_status", args=[customer_list.pk, "archive"]))
    customer_list.refresh_from_db()
    assert customer_list.status == "archived"


def test_bulk_from_the_console(admin_client, people, django_capture_on_commit_callbacks):
    customer_list = CustomerList.objects.create(name="L")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("segments:list_bulk", args=[customer_list.pk]),
            {"type": "customer_add", "customers": "de-rich\nghost\nat-rich", "reason": "campaign"},
        )
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert 'data-testid="bulk-status">done<' in page and "ghost" in page
    assert CustomerListMember.objects.filter(customer_list=customer_list).count() == 2
    assert "L" in admin_client.get(reverse("segments:bulk_list")).content.decode()


def _upload(content: bytes, name="ids.csv"):
    file = io.BytesIO(content)
    file.name = name
    return file


def test_import_static_segment_reports_unmatched_rows(admin_client, people):
    CustomField.objects.create(name="card", label="Card", type="string", external_id=True)
    from events.engine import register_event

    register_event(environment="live", customer="at-rich", action="profile", data={"card": "C-1"})
    content = b"customer_id,note\nde-rich,x\nghost,y\ncard:C-1,z\n\n"
    response = admin_client.post(
        reverse("segments:segment_import"), {"name": "Fair visitors", "file": _upload(content)}
    )
    segment = Segment.objects.get()
    assert response.status_code == 302 and segment.kind == "static" and segment.member_count == 2
    report = SegmentImport.objects.get()
    assert (report.rows, report.matched) == (4, 2)
    assert [row["row"] for row in report.unmatched] == [3, 5]
    page = admin_client.get(response["Location"]).content.decode()
    assert "ghost" in page and 'data-testid="import-report"' in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"email\nx@example.com\n", "Row 1: the first column is"),
        ("customer_id\nJürgen\n".encode("latin-1"), "Row 2: the file is not UTF-8"),
        (b"customer_id\n", "no rows"),
        (b"\x00" * 1000, "NUL"),
        (b"", "The submitted file is empty"),
    ],
)
def test_bad_import_files_are_form_errors(admin_client, people, content, message):
    response = admin_client.post(reverse("segments:segment_import"), {"name": "x", "file": _upload(content)})
    assert response.status_code == 200 and message in response.content.decode()
    assert not Segment.objects.exists()


def test_ten_megabytes_of_garbage_is_refused(admin_client, people):
    response = admin_client.post(
        reverse("segments:segment_import"), {"name": "x", "file": _upload(b"\xff\xfe garbage " * 900_000)}
    )
    assert response.status_code == 200 and "larger than 5 MB" in response.content.decode()
    assert not Segment.objects.exists()


def _exported_ids(admin_client, export_link: str, django_capture_on_commit_callbacks) -> set[str]:
    """Follow an Export link: the form it opens, submitted as pre-filled; the file's customer IDs."""
    import csv

    from dataio.models import DataExport

    form = admin_client.get(export_link).context["form"]
    data = {
        "model": form.initial["model"],
        "query": form.initial["query"],
        "format": "csv",
        "date_format": "iso",
        "fields": "customer_id",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(reverse("dataio:export_add"), data).status_code == 302
    export = DataExport.objects.latest("pk")
    assert export.status == "finished", export.message
    return {row[0] for row in list(csv.reader(io.StringIO(export.file.read().decode())))[1:]}


def test_the_segment_and_list_pages_export_exactly_their_members(
    admin_client, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("segments:segment_add"), editor_post("Germans", ("all", ["country:eq:DE"])))
    segment = Segment.objects.get()
    members_url = reverse("segments:segment_members", args=[segment.pk])
    page = admin_client.get(members_url)
    link = f"{reverse('dataio:export_add')}?model=customers&segment={segment.pk}"
    assert f'href="{escape(link)}" data-testid="export-link"' in page.content.decode()
    assert page.context["export_url"] == link
    exported = _exported_ids(admin_client, link, django_capture_on_commit_callbacks)
    assert exported == {"de-rich", "de-poor"} == {c.customer_id for c in page.context["page"].rows}
    # The page's own filters go along (paging and display parameters do not).
    filtered = admin_client.get(members_url, {"f": "score:ge:100", "per_page": "5"})
    link = filtered.context["export_url"]
    assert (
        admin_client.get(link).context["form"].initial["query"] == f"segment={segment.pk}&f=score%3Age%3A100"
    )
    assert _exported_ids(admin_client, link, django_capture_on_commit_callbacks) == {"de-rich"}

    customer_list = CustomerList.objects.create(name="Newsletter")
    admin_client.post(reverse("segments:list_member_add", args=[customer_list.pk]), {"customer": "at-rich"})
    page = admin_client.get(reverse("segments:list_detail", args=[customer_list.pk]))
    link = f"{reverse('dataio:export_add')}?model=customers&list={customer_list.pk}"
    assert page.context["export_url"] == link and f'href="{escape(link)}"' in page.content.decode()
    assert _exported_ids(admin_client, link, django_capture_on_commit_callbacks) == {"at-rich"}


def test_the_export_link_shows_only_to_those_who_may_export(client, cast, people):
    segment = Segment.objects.create(name="S", conditions=tree(leaf("score", "ge", "1")))
    url = reverse("segments:segment_members", args=[segment.pk])
    client.force_login(cast["analyst"])  # exports, may not manage segments
    assert 'data-testid="export-link"' in client.get(url).content.decode()
    client.force_login(cast["support_agent"])  # no export_data
    assert 'data-testid="export-link"' not in client.get(url).content.decode()


def test_the_sandbox_console_does_not_show_live_bulk_operations(
    admin_client, people, django_capture_on_commit_callbacks
):
    """Before: the Bulk operations list and a batch's page (its customer references and errors)
    showed live batches in the sandbox too. After: each environment sees its own."""
    customer_list = CustomerList.objects.create(name="Live list")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("segments:list_bulk", args=[customer_list.pk]),
            {"type": "customer_add", "customers": "de-rich\nghost", "reason": "campaign"},
        )
    detail = response["Location"]
    batch_id = detail.rstrip("/").rsplit("/", 1)[-1]
    assert batch_id in admin_client.get(reverse("segments:bulk_list")).content.decode()
    admin_client.post(reverse("switch_environment"), {"environment": "sandbox", "next": "/"})
    assert batch_id not in admin_client.get(reverse("segments:bulk_list")).content.decode()
    assert admin_client.get(detail).status_code == 404
    admin_client.post(reverse("switch_environment"), {"environment": "live", "next": "/"})
    assert admin_client.get(detail).status_code == 200
