"""Console pages of segments and customer lists (Customer insights → Segments / Customer lists).

Thin views on the console generics; the work is in segments.building, segments.lists,
segments.bulk and segments.imports. Every page needs the Segments module (404 when it is off);
viewing needs view_console, changing needs manage_segments, list membership changes
change_customer_profile, imports import_data.
"""

from __future__ import annotations

from urllib.parse import urlencode

import django_filters
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from customers.lookup import find_customer
from customers.models import Customer
from customers.views.lists import CustomerListView
from events.choices import EventSource
from events.engine import register_event
from loyalty.audit import log as audit
from loyalty.bounds import is_digits
from loyalty.console.paging import capped_count
from loyalty.console.views import ConsoleView, ObjectListView
from loyalty.errors import EngineError
from loyalty.models import Program

from .building import SLOW_BUILD_SECONDS, clear_members, preview, refresh_statistics, request_rebuild
from .bulk import queue_bulk
from .forms import (
    MATCH_CHOICES,
    AddMemberForm,
    BulkForm,
    CustomerListForm,
    ImportForm,
    RemoveMemberForm,
    SegmentForm,
    check_tree,
    groups_from_post,
    tree_to_groups,
)
from .imports import ImportFailed, import_segment
from .lists import set_status
from .models import (
    BuildStatus,
    BulkOperation,
    CustomerList,
    CustomerListMember,
    Segment,
    SegmentKind,
    SegmentMember,
    Status,
)
from .tables import BulkOperationTable, CustomerListTable, SegmentTable

SLOW_PREVIEW_SECONDS = 3.0


class ModuleMixin:
    """404 when the Segments module is off (the navigation hides the pages too)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Program.current().module_enabled("segments"):
            raise Http404("The Segments module is off.")
        return super().dispatch(request, *args, **kwargs)


# --- segments -------------------------------------------------------------------------------------


class SegmentFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    status = django_filters.ChoiceFilter(choices=Status.choices, empty_label="Active and inactive")

    class Meta:
        model = Segment
        fields = ["q", "status", "kind"]


class SegmentListView(ModuleMixin, ObjectListView):
    title = "Segments"
    filterset_class = SegmentFilterSet
    table_class = SegmentTable
    actions = [
        ("Create segment", "segments:segment_add", "loyalty.manage_segments"),
        ("Import segment", "segments:segment_import", "loyalty.import_data"),
        ("Customer lists", "segments:list_list", "loyalty.view_console"),
    ]

    def get_queryset(self):
        qs = Segment.objects.select_related("created_by").order_by("name", "id")
        if self.request.GET.get("status") != Status.ARCHIVED:
            qs = qs.exclude(status=Status.ARCHIVED)  # archived ones only when asked for
        return qs


class SegmentEditView(ModuleMixin, ConsoleView, TemplateView):
    """Create or edit a segment: name, description and the two-level condition editor, with a
    live count and sample (htmx posts the form to SegmentPreviewView as it changes)."""

    permission_required = "loyalty.manage_segments"
    template_name = "segments/segment_form.html"

    def get_object(self) -> Segment | None:
        if "pk" not in self.kwargs:
            return None
        segment = get_object_or_404(Segment, pk=self.kwargs["pk"])
        if segment.status == Status.ARCHIVED:
            raise Http404("An archived segment cannot be edited.")
        return segment

    def get(self, request, *args, **kwargs):
        segment = self.get_object()
        form = SegmentForm(instance=segment)
        editable = tree_to_groups(segment.conditions if segment else None)
        match, groups = editable if editable else ("all", [])
        return self.render(form, segment, match, groups, [], readonly=editable is None)

    def post(self, request, *args, **kwargs):
        segment = self.get_object()
        form = SegmentForm(request.POST, instance=segment)
        match, groups = groups_from_post(request.POST)
        if "add_group" in request.POST:
            groups.append({"match": "all", "lines": ""})
            return self.render(form, segment, match, groups, [])
        if segment is not None and segment.kind == SegmentKind.STATIC:
            tree, errors = segment.conditions, []
        else:
            tree, errors = check_tree(segment.pk if segment else None, match, groups)
        if not form.is_valid() or errors:
            return self.render(form, segment, match, groups, errors)
        created = segment is None
        with transaction.atomic():
            obj = form.save(commit=False)
            obj.conditions = tree
            if created:
                obj.created_by = request.user
            obj.save()
            audit.record(
                user=request.user,
                action="segment_create" if created else "segment_update",
                environment=request.environment,
                object_repr=f"segment {obj.name}",
                before={} if created else {"conditions": segment.conditions},
                after={"name": obj.name, "conditions": tree},
            )
            request_rebuild(
                obj, request.user
            )  # on django-q2 after commit (and hourly); the page shows "building"
        messages.success(
            request,
            f"Segment “{obj.name}” {'created' if created else 'saved'}."
            + (" Its members are being built in the background." if obj.is_dynamic else ""),
        )
        return HttpResponseRedirect(reverse("segments:segment_members", args=[obj.pk]))

    def render(self, form, segment, match, groups, errors, readonly=False):
        context = {
            "title": f"Edit segment “{segment.name}”" if segment else "Create segment",
            "form": form,
            "segment": segment,
            "match": match,
            "groups": [dict(group, index=index) for index, group in enumerate(groups)],
            "match_choices": MATCH_CHOICES,
            "tree_errors": errors,
            "readonly": readonly or (segment is not None and segment.kind == SegmentKind.STATIC),
            "slow": segment is not None and (segment.build_seconds or 0) > SLOW_BUILD_SECONDS,
            "slow_seconds": SLOW_BUILD_SECONDS,
        }
        return render(self.request, self.template_name, context)


class SegmentPreviewView(ModuleMixin, ConsoleView, View):
    """The editor's live count and sample (an htmx partial): POST the editor form."""

    permission_required = "loyalty.manage_segments"

    def post(self, request, *args, **kwargs):
        pk = request.POST.get("segment")
        segment_pk = int(pk) if is_digits(pk) else None
        match, groups = groups_from_post(request.POST)
        tree, errors = check_tree(segment_pk, match, groups)
        result = None if errors else preview(tree, request.environment)
        return render(
            request,
            "segments/includes/preview.html",
            {
                "errors": errors,
                "result": result,
                "slow": result is not None and result["seconds"] > SLOW_PREVIEW_SECONDS,
            },
        )


class SegmentBuildStatusView(ModuleMixin, ConsoleView, View):
    """The segment's build status chip (an htmx partial). While the segment is building, the chip
    polls this view every 2 s; once the build is done an htmx request gets `HX-Refresh`, so the
    page reloads with the new member count."""

    def get(self, request, pk):
        segment = get_object_or_404(Segment, pk=pk)
        response = render(request, "segments/includes/build_status.html", {"segment": segment})
        if request.headers.get("HX-Request") and segment.build_status != BuildStatus.BUILDING:
            response["HX-Refresh"] = "true"
        return response


def export_url(request, key: str, pk: int) -> str:
    """The export form for the members shown: `?model=customers&<key>=<pk>` (dataio pre-fills the
    customer filter with it); with the page's own filters too, `?model=customers&query=<key>=<pk>&...`."""
    params = request.GET.copy()
    for name in (key, "after", "before", "nf", "no", "nv", "sort", "per_page", "columns"):
        params.pop(name, None)
    if not params:
        return f"{reverse('dataio:export_add')}?{urlencode({'model': 'customers', key: pk})}"
    query = f"{urlencode({key: pk})}&{params.urlencode()}"
    return f"{reverse('dataio:export_add')}?{urlencode({'model': 'customers', 'query': query})}"


class SegmentMembersView(ModuleMixin, CustomerListView):
    """The segment's current members: the customer list (its columns, filters, keyset pages)
    restricted to the membership table."""

    template_name = "segments/segment_members.html"
    results_template_name = "segments/segment_members.html"

    def dispatch(self, request, *args, **kwargs):
        self.segment = get_object_or_404(Segment, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    @property
    def title(self):
        return f"Segment “{self.segment.name}”"

    def get_queryset(self):
        members = SegmentMember.objects.filter(segment=self.segment, left_at__isnull=True).values(
            "customer_id"
        )
        return super().get_queryset().filter(pk__in=members)

    def filtered_queryset(self):
        return self.object_list  # members of every status

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["segment"] = self.segment
        context["can_manage"] = self.request.user.has_perm("loyalty.manage_segments")
        context["slow_seconds"] = SLOW_BUILD_SECONDS
        context["last_import"] = self.segment.imports.first()
        context["export_url"] = export_url(self.request, "segment", self.segment.pk)
        return context


class SegmentActionView(ModuleMixin, ConsoleView, View):
    """POST-only buttons on a segment: activate, inactivate, archive, clone, rebuild."""

    permission_required = "loyalty.manage_segments"
    ACTIONS = ("activate", "inactivate", "archive", "clone", "rebuild")

    def post(self, request, pk, action):
        segment = get_object_or_404(Segment, pk=pk)
        if action not in self.ACTIONS:
            raise Http404("No such action.")
        if segment.status == Status.ARCHIVED:
            messages.error(request, "An archived segment cannot be changed.")
            return HttpResponseRedirect(reverse("segments:segment_list"))
        target = reverse("segments:segment_members", args=[segment.pk])
        if action == "clone":
            copy = Segment.objects.create(
                name=f"{segment.name} (copy)"[:200],
                description=segment.description,
                kind=SegmentKind.DYNAMIC if segment.is_dynamic else SegmentKind.STATIC,
                conditions=segment.conditions,
                created_by=request.user,
            )
            if copy.is_dynamic:
                request_rebuild(copy, request.user)
            else:
                now = segment.last_built_at
                SegmentMember.objects.bulk_create(
                    [
                        SegmentMember(segment=copy, customer_id=cid, entered_at=now or copy.created_at)
                        for cid in SegmentMember.objects.filter(
                            segment=segment, left_at__isnull=True
                        ).values_list("customer_id", flat=True)
                    ],
                    batch_size=2000,
                )
                Segment.objects.filter(pk=copy.pk).update(member_count=segment.member_count)
                refresh_statistics(segment.member_count)
            messages.success(request, f"Segment cloned as “{copy.name}”.")
            return HttpResponseRedirect(reverse("segments:segment_edit", args=[copy.pk]))
        if action == "rebuild":
            request_rebuild(segment, request.user)
            messages.success(request, "The segment is being rebuilt in the background.")
            return HttpResponseRedirect(target)
        status = {"activate": Status.ACTIVE, "inactivate": Status.INACTIVE, "archive": Status.ARCHIVED}[
            action
        ]
        with transaction.atomic():
            Segment.objects.filter(pk=segment.pk).update(status=status)
            if status == Status.ARCHIVED:
                clear_members(segment)
            audit.record(
                user=request.user,
                action=f"segment_{action}",
                environment=request.environment,
                object_repr=f"segment {segment.name}",
                before={"status": segment.status},
                after={"status": status},
            )
            if status == Status.ACTIVE:
                segment.status = status
                request_rebuild(segment, request.user)
        messages.success(request, f"Segment “{segment.name}” is {status} now.")
        return HttpResponseRedirect(reverse("segments:segment_list") if status == Status.ARCHIVED else target)


class SegmentImportView(ModuleMixin, ConsoleView, TemplateView):
    permission_required = "loyalty.import_data"
    template_name = "segments/segment_import.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportForm())
        context["title"] = "Import segment"
        return context

    def post(self, request, *args, **kwargs):
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > 5 * 1024 * 1024:
                    raise ImportFailed("The file is larger than 5 MB.")
                report = import_segment(
                    name=form.cleaned_data["name"],
                    raw=upload.read(),
                    file_name=upload.name or "",
                    environment=request.environment,
                    user=request.user,
                )
            except ImportFailed as error:
                form.add_error("file", error.message)
            else:
                messages.success(
                    request,
                    f"Imported {report.matched} of {report.rows} rows; {report.rows - report.matched} unmatched.",
                )
                return HttpResponseRedirect(reverse("segments:segment_members", args=[report.segment_id]))
        return self.render_to_response(self.get_context_data(form=form))


# --- customer lists -----------------------------------------------------------------------------


class ListFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    status = django_filters.ChoiceFilter(choices=Status.choices, empty_label="Any status")

    class Meta:
        model = CustomerList
        fields = ["q", "status"]


class CustomerListListView(ModuleMixin, ObjectListView):
    title = "Customer lists"
    filterset_class = ListFilterSet
    table_class = CustomerListTable
    actions = [
        ("Create list", "segments:list_add", "loyalty.manage_segments"),
        ("Bulk operations", "segments:bulk_list", "loyalty.view_console"),
    ]

    def get_queryset(self):
        # A correlated count per list row on the page (index list_member_unique).
        counts = (
            CustomerListMember.objects.filter(customer_list_id=OuterRef("pk"))
            .order_by()
            .values("customer_list_id")
            .annotate(n=Count("id"))
            .values("n")
        )
        return CustomerList.objects.annotate(member_count=Coalesce(Subquery(counts), 0)).order_by(
            "name", "id"
        )


class CustomerListEditView(ModuleMixin, ConsoleView, TemplateView):
    permission_required = "loyalty.manage_segments"
    template_name = "console/object_form.html"

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        found = get_object_or_404(CustomerList, pk=self.kwargs["pk"])
        if found.status == Status.ARCHIVED:
            raise Http404("An archived list cannot be edited.")
        return found

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        return self.show(CustomerListForm(instance=obj), obj)

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        form = CustomerListForm(request.POST, instance=obj)
        if not form.is_valid():
            return self.show(form, obj)
        saved = form.save(commit=False)
        if obj is None:
            saved.created_by = request.user
        saved.save()
        messages.success(request, f"Customer list “{saved.name}” saved.")
        return HttpResponseRedirect(reverse("segments:list_detail", args=[saved.pk]))

    def show(self, form, obj):
        title = f"Edit customer list “{obj.name}”" if obj else "Create customer list"
        cancel = reverse("segments:list_detail", args=[obj.pk]) if obj else reverse("segments:list_list")
        return render(self.request, self.template_name, {"title": title, "form": form, "cancel_url": cancel})


class CustomerListDetailView(ModuleMixin, CustomerListView):
    """A list's members (the customer list's table and pages) with add-member and remove."""

    template_name = "segments/list_detail.html"
    results_template_name = "segments/list_detail.html"

    def dispatch(self, request, *args, **kwargs):
        self.customer_list = get_object_or_404(CustomerList, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    @property
    def title(self):
        return f"Customer list “{self.customer_list.name}”"

    def get_queryset(self):
        members = CustomerListMember.objects.filter(customer_list=self.customer_list).values("customer_id")
        return super().get_queryset().filter(pk__in=members)

    def filtered_queryset(self):
        return self.object_list

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            {
                "customer_list": self.customer_list,
                "add_form": AddMemberForm(),
                "can_change_members": user.has_perm("loyalty.change_customer_profile")
                and self.customer_list.status == Status.ACTIVE,
                "can_remove_members": user.has_perm("loyalty.change_customer_profile")
                and self.customer_list.status != Status.ARCHIVED,
                "can_manage": user.has_perm("loyalty.manage_segments"),
                "member_count": capped_count(self.object_list)[0],
                "export_url": export_url(self.request, "list", self.customer_list.pk),
            }
        )
        return context


def _find_member(environment: str, text: str) -> Customer | None:
    """A customer by ID, field:value, e-mail or "First Last" (exact, indexed lookups)."""
    try:
        found = find_customer(environment, text)
    except EngineError:
        found = None
    if found is not None:
        return found
    qs = Customer.objects.filter(environment=environment, anonymized_at__isnull=True)
    first, _, last = text.partition(" ")
    q = Q(email=text) | (Q(first_name=first, last_name=last.strip()) if last else Q(last_name=text))
    matches = list(qs.filter(q)[:2])
    return matches[0] if len(matches) == 1 else None


class ListMemberAddView(ModuleMixin, ConsoleView, View):
    permission_required = "loyalty.change_customer_profile"

    def post(self, request, pk):
        customer_list = get_object_or_404(CustomerList, pk=pk)
        form = AddMemberForm(request.POST)
        target = reverse("segments:list_detail", args=[pk])
        if not form.is_valid():
            messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
            return HttpResponseRedirect(target)
        customer = _find_member(request.environment, form.cleaned_data["customer"])
        if customer is None:
            messages.error(request, f"No single customer matches “{form.cleaned_data['customer']}”.")
            return HttpResponseRedirect(target)
        try:
            register_event(
                environment=request.environment,
                customer=customer,
                action="customer_list_add",
                data={"list": customer_list.pk},
                source=EventSource.PLATFORM,
                admin_user=request.user,
                reason=form.cleaned_data["reason"],
            )
        except EngineError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{customer.customer_id} added to “{customer_list.name}”.")
        return HttpResponseRedirect(target)


class ListMemberRemoveView(ModuleMixin, ConsoleView, TemplateView):
    """Remove with confirmation: GET shows the confirm form, POST registers the event."""

    permission_required = "loyalty.change_customer_profile"
    template_name = "console/action_form.html"

    def setup_objects(self, pk, customer_pk):
        self.customer_list = get_object_or_404(CustomerList, pk=pk)
        self.customer = get_object_or_404(
            Customer, pk=customer_pk, environment=self.request.environment, anonymized_at__isnull=True
        )

    def get(self, request, pk, customer_pk):
        self.setup_objects(pk, customer_pk)
        return self.show(RemoveMemberForm())

    def post(self, request, pk, customer_pk):
        self.setup_objects(pk, customer_pk)
        form = RemoveMemberForm(request.POST)
        if not form.is_valid():
            return self.show(form)
        try:
            register_event(
                environment=request.environment,
                customer=self.customer,
                action="customer_list_remove",
                data={"list": self.customer_list.pk},
                source=EventSource.PLATFORM,
                admin_user=request.user,
                reason=form.cleaned_data["reason"],
            )
        except EngineError as error:
            form.add_error(None, error.message)
            return self.show(form)
        messages.success(request, f"{self.customer.customer_id} removed from “{self.customer_list.name}”.")
        return HttpResponseRedirect(reverse("segments:list_detail", args=[self.customer_list.pk]))

    def show(self, form):
        return render(
            self.request,
            self.template_name,
            {
                "title": f"Remove {self.customer.customer_id} from “{self.customer_list.name}”",
                "confirm_text": "The customer leaves the list; the change is recorded as an event.",
                "danger": True,
                "submit_label": "Remove",
                "cancel_url": reverse("segments:list_detail", args=[self.customer_list.pk]),
                "form": form,
            },
        )


class ListStatusView(ModuleMixin, ConsoleView, View):
    permission_required = "loyalty.manage_segments"
    STATUSES = {"activate": Status.ACTIVE, "inactivate": Status.INACTIVE, "archive": Status.ARCHIVED}

    def post(self, request, pk, action):
        customer_list = get_object_or_404(CustomerList, pk=pk)
        if action not in self.STATUSES:
            raise Http404("No such action.")
        try:
            updated = set_status(customer_list, self.STATUSES[action])
        except EngineError as error:
            messages.error(request, error.message)
        else:
            audit.record(
                user=request.user,
                action=f"customer_list_{action}",
                environment=request.environment,
                object_repr=f"customer list {customer_list.name}",
                before={"status": customer_list.status},
                after={"status": updated.status},
            )
            messages.success(request, f"Customer list “{updated.name}” is {updated.status} now.")
        return HttpResponseRedirect(reverse("segments:list_detail", args=[pk]))


class BulkFilterSet(django_filters.FilterSet):
    class Meta:
        model = BulkOperation
        fields = ["status", "type", "customer_list"]


class BulkListView(ModuleMixin, ObjectListView):
    """The Bulk Operation Request Queue: type, status, list, batch ID, number of customers."""

    title = "Bulk operations"
    table_class = BulkOperationTable
    filterset_class = BulkFilterSet

    def get_queryset(self):
        return (
            BulkOperation.objects.filter(environment=self.request.environment)
            .select_related("customer_list")
            .order_by("-id")
        )


class BulkCreateView(ModuleMixin, ConsoleView, TemplateView):
    permission_required = "loyalty.change_customer_profile"
    template_name = "console/object_form.html"

    def get(self, request, pk):
        customer_list = get_object_or_404(CustomerList, pk=pk)
        return self.show(BulkForm(), customer_list)

    def post(self, request, pk):
        customer_list = get_object_or_404(CustomerList, pk=pk)
        form = BulkForm(request.POST)
        if form.is_valid():
            try:
                operation = queue_bulk(
                    customer_list,
                    form.cleaned_data["type"],
                    form.cleaned_data["customers"],
                    environment=request.environment,
                    source=EventSource.PLATFORM,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except EngineError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Bulk operation {operation.batch_id} queued.")
                return HttpResponseRedirect(reverse("segments:bulk_detail", args=[operation.batch_id]))
        return self.show(form, customer_list)

    def show(self, form, customer_list):
        return render(
            self.request,
            self.template_name,
            {
                "title": f"Bulk change of “{customer_list.name}”",
                "form": form,
                "cancel_url": reverse("segments:list_detail", args=[customer_list.pk]),
            },
        )


class BulkDetailView(ModuleMixin, ConsoleView, TemplateView):
    template_name = "segments/bulk_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        operation = get_object_or_404(
            BulkOperation.objects.filter(environment=self.request.environment).select_related(
                "customer_list"
            ),
            batch_id=kwargs["batch_id"],
        )
        context.update(
            {
                "title": f"Bulk operation {operation.batch_id}",
                "operation": operation,
                "errors": operation.errors.all()[:500],
            }
        )
        return context
