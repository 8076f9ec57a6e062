"""Tables of the Jobs, Imports and Exports pages."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html

from loyalty.console.columns import NumberColumn, WhenColumn

from .models import DataExport, DataImport, Job


class JobTable(tables.Table):
    label = tables.Column(verbose_name="Job")
    kind = tables.Column()
    status = tables.Column()
    progress = tables.Column(empty_values=(), orderable=False, verbose_name="Progress")
    started_by = tables.Column(verbose_name="Started by")
    started_at = WhenColumn(verbose_name="Started")
    finished_at = WhenColumn(verbose_name="Finished")
    duration = tables.Column(empty_values=(), orderable=False)
    actions = tables.TemplateColumn(
        template_name="dataio/includes/job_actions.html", orderable=False, verbose_name="", empty_values=()
    )

    class Meta:
        model = Job
        fields = (
            "label",
            "kind",
            "status",
            "progress",
            "started_by",
            "started_at",
            "finished_at",
            "duration",
        )
        always_visible = ("label",)
        attrs = {"data-testid": "job-table"}
        empty_text = "No background jobs yet."

    def render_label(self, record, value):
        if record.url:
            return format_html('<a href="{}">{}</a>', record.url, value)
        return value

    def render_progress(self, record):
        done = record.done + record.failed
        if record.total:
            failed = f" ({record.failed:,} failed)" if record.failed else ""
            return format_html(
                '<progress max="{}" value="{}"></progress> {} / {}{}',
                record.total,
                done,
                f"{done:,}",
                f"{record.total:,}",
                failed,
            )
        return f"{done:,}" if done else "—"

    def render_duration(self, record):
        duration = record.duration
        if duration is None:
            return "—"
        seconds = int(duration.total_seconds())
        return f"{seconds // 3600}:{seconds // 60 % 60:02}:{seconds % 60:02}"


class ImportTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=("dataio:import_detail", {"pk": tables.A("pk")}))
    created_at = WhenColumn(verbose_name="Created at")
    created_by = tables.Column(verbose_name="Created by")
    model = tables.Column(verbose_name="Model")
    status = tables.Column()
    file_name = tables.Column(verbose_name="Filename")
    file_size = NumberColumn(verbose_name="Filesize (bytes)")
    rows_done = NumberColumn(verbose_name="Rows done")
    failed = NumberColumn(verbose_name="Failed")

    class Meta:
        model = DataImport
        fields = (
            "id",
            "created_at",
            "created_by",
            "model",
            "status",
            "file_name",
            "file_size",
            "rows_done",
            "failed",
        )
        always_visible = ("id",)
        attrs = {"data-testid": "import-table"}
        empty_text = "No imports yet."


class ExportTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=("dataio:export_detail", {"pk": tables.A("pk")}))
    name = tables.Column()
    created_at = WhenColumn(verbose_name="Created at")
    created_by = tables.Column(verbose_name="Created by")
    model = tables.Column(verbose_name="Model")
    format = tables.Column()
    status = tables.Column()
    repeat = tables.Column(verbose_name="Repeat")
    rows = NumberColumn()
    size = NumberColumn(verbose_name="Filesize (bytes)")
    expires_at = WhenColumn(verbose_name="Expires")

    class Meta:
        model = DataExport
        fields = (
            "id",
            "name",
            "created_at",
            "created_by",
            "model",
            "format",
            "status",
            "repeat",
            "rows",
            "size",
            "expires_at",
        )
        always_visible = ("id",)
        attrs = {"data-testid": "export-table"}
        empty_text = "No exports yet."
