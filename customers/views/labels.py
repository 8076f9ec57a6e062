"""Labels (000, "Labels"): a searchable alphabetical list with customer counts, create, rename
(the same Label row, so every customer carrying it sees the new name), and its customers."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy

from customers.filtersets import LabelCustomerFilterSet, LabelFilterSet
from customers.forms import LabelForm
from customers.models import Customer, Label
from customers.tables import LabelCustomerTable, LabelTable
from loyalty.audit import log as audit
from loyalty.console.views import ObjectEditView, ObjectListView


class LabelListView(ObjectListView):
    title = "Labels"
    filterset_class = LabelFilterSet
    table_class = LabelTable
    actions = [("Create label", "customers:label_add", "loyalty.manage_labels")]

    def get_queryset(self):
        # A correlated count per label row: only the labels on the page are counted (through the
        # through-table's label index), never every label assignment of a million customers.
        through = Customer.labels.through.objects.filter(label_id=OuterRef("pk")).order_by()
        counts = through.values("label_id").annotate(n=Count("id")).values("n")
        return Label.objects.annotate(customer_count=Coalesce(Subquery(counts), 0)).order_by("name")


class LabelEditView(ObjectEditView):
    model = Label
    form_class = LabelForm
    permission_required = "loyalty.manage_labels"
    success_url = reverse_lazy("customers:label_list")
    title_create = "Create label"

    def save(self, form):
        before = (
            {"name": form.initial.get("name"), "active": form.initial.get("active")} if self.object else {}
        )
        with transaction.atomic():
            label = form.save()
            audit.record(
                user=self.request.user,
                action="label_update" if before else "label_create",
                environment=self.request.environment,
                object_repr=f"label {label.name}",
                before=before,
                after={"name": label.name, "active": label.active},
            )
        return label


class LabelCustomersView(ObjectListView):
    table_class = LabelCustomerTable
    filterset_class = LabelCustomerFilterSet
    template_name = "customers/label_customers.html"

    def get_queryset(self):
        self.label = get_object_or_404(Label, pk=self.kwargs["pk"])
        return self.label.customers.filter(
            environment=self.request.environment, anonymized_at__isnull=True
        ).order_by("customer_id")

    @property
    def title(self):
        return f"Customers with label “{self.label.name}”"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["label"] = self.label
        context["back_url"] = reverse("customers:label_list")
        return context
