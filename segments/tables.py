"""Tables of the segment and list pages (django-tables2)."""

from __future__ import annotations

import django_tables2 as tables

from loyalty.console.columns import WhenColumn

from .models import BulkOperation, CustomerList, Segment


class SegmentTable(tables.Table):
    name = tables.Column(linkify=("segments:segment_members", {"pk": tables.A("pk")}))
    status = tables.Column()
    kind = tables.Column(verbose_name="Type")
    member_count = tables.Column(verbose_name="Members", attrs={"td": {"class": "num"}})
    build_status = tables.TemplateColumn(
        '{% include "segments/includes/build_status.html" with segment=record %}', verbose_name="Build"
    )
    last_built_at = WhenColumn(verbose_name="Last built")
    build_seconds = tables.TemplateColumn(
        "{% if record.build_seconds is not None %}{{ record.build_seconds|floatformat:2 }} s{% else %}—{% endif %}",
        verbose_name="Build time",
        attrs={"td": {"class": "num"}},
    )
    created_by = tables.Column(verbose_name="Created by")
    created_at = WhenColumn(verbose_name="Created")

    class Meta:
        model = Segment
        fields = (
            "name",
            "status",
            "kind",
            "member_count",
            "build_status",
            "last_built_at",
            "build_seconds",
            "created_by",
            "created_at",
        )
        always_visible = ("name",)
        attrs = {"data-testid": "segment-table"}
        empty_text = "No segments yet."


class CustomerListTable(tables.Table):
    name = tables.Column(linkify=("segments:list_detail", {"pk": tables.A("pk")}))
    status = tables.Column()
    member_count = tables.Column(verbose_name="Members", orderable=False, attrs={"td": {"class": "num"}})
    created_by = tables.Column(verbose_name="Created by")
    created_at = WhenColumn(verbose_name="Created")

    class Meta:
        model = CustomerList
        fields = ("name", "status", "member_count", "created_by", "created_at")
        always_visible = ("name",)
        attrs = {"data-testid": "list-table"}
        empty_text = "No customer lists yet."


class BulkOperationTable(tables.Table):
    batch_id = tables.Column(
        verbose_name="Batch ID", linkify=("segments:bulk_detail", {"batch_id": tables.A("batch_id")})
    )
    type = tables.Column()
    status = tables.Column()
    customer_list = tables.Column(verbose_name="Customer list")
    number_of_customers = tables.Column(verbose_name="Number of customers", attrs={"td": {"class": "num"}})
    number_of_errors = tables.Column(verbose_name="Errors", attrs={"td": {"class": "num"}})
    created_at = WhenColumn(verbose_name="Queued")

    class Meta:
        model = BulkOperation
        fields = (
            "batch_id",
            "type",
            "status",
            "customer_list",
            "number_of_customers",
            "number_of_errors",
            "created_at",
        )
        attrs = {"data-testid": "bulk-table"}
        empty_text = "No bulk operations yet."
