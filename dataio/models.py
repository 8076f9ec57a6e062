"""Jobs, imports and exports.

- `Job`: one row per background job of any kind (imports, exports, bulk list operations, segment
  rebuilds, expiry and tier runs, workflow date runs), written through `dataio.jobs.track`; the
  Jobs page lists them.
- `DataImport`: an uploaded file, its column mapping, the validation pass's findings, the run's
  progress (`rows_done`, the sum of its partitions' checkpoints) and counts. `ImportPartition`:
  one of the run's partitions (`partitions` of them, rows split by customer) with its own
  checkpoint (`rows_done`, committed with each chunk). `ImportRowError`: one failed row (row
  number, column, value, code, message and the row as uploaded), written in the chunk's
  transaction, so a resumed run neither repeats nor loses one.
- `DataExport`: one export run (or a repeated export's definition, `repeat` set, whose runs point
  to it through `parent`): model, format, parameters, file, size, rows, expiry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .choices import (
    ExportModel,
    ExportStatus,
    FileFormat,
    ImportModel,
    ImportStatus,
    JobKind,
    JobStatus,
    Repeat,
)


class Job(models.Model):
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    key = models.CharField(max_length=100, help_text="the job's own identity within its kind")
    label = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=24, choices=JobStatus.choices, default=JobStatus.PENDING)
    environment = models.CharField(max_length=10, blank=True)
    total = models.BigIntegerField(null=True, blank=True, help_text="rows or items to do, when known")
    done = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    message = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True, help_text="the job's own page, when it has one")
    cancellable = models.BooleanField(default=False)
    cancel_requested = models.BooleanField(default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="job_kind_key")]

    def __str__(self) -> str:
        return self.label or f"{self.kind} {self.key}"

    @property
    def duration(self):
        if self.started_at is None:
            return None
        end = self.finished_at
        if end is None:
            return None
        return end - self.started_at

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, int(100 * (self.done + self.failed) / self.total))


class DataImport(models.Model):
    model = models.CharField(max_length=20, choices=ImportModel.choices)
    environment = models.CharField(max_length=10)
    status = models.CharField(max_length=24, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    file_name = models.CharField(max_length=300)
    file_size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=8, choices=FileFormat.choices)
    delimiter = models.CharField(max_length=1, default=",")
    encoding = models.CharField(max_length=20, default="utf-8")
    columns = models.JSONField(default=list, help_text="the header, as uploaded")
    mapping = models.JSONField(default=dict, help_text="{column: field} ('' = ignored)")
    target = models.BigIntegerField(null=True, blank=True, help_text="pool, list or segment id")
    earn = models.BooleanField(default=False)
    total_rows = models.BigIntegerField(null=True, blank=True)
    rows_done = models.BigIntegerField(
        default=0,
        help_text="progress: data rows applied and committed, summed over the partitions (each "
        "partition's checkpoint is its ImportPartition.rows_done)",
    )
    partitions = models.PositiveSmallIntegerField(
        default=0, help_text="partitions of the run, decided when it first starts (0: not yet)"
    )
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    unchanged = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    validation_errors = models.BigIntegerField(null=True, blank=True)
    preview = models.JSONField(
        default=dict, blank=True, help_text="the validation pass's first rows and errors"
    )
    message = models.TextField(blank=True, help_text="why the import failed, for the user")
    error_file = models.FileField(upload_to="imports/errors/", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(
        default=0, help_text="time spent applying rows, summed over the partitions (for rows/s)"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Import {self.pk}: {self.file_name}"


class ImportPartition(models.Model):
    """One partition of an import's run (dataio.running): the rows whose customer hashes to
    `index`, applied in file order by one task at a time."""

    data_import = models.ForeignKey(DataImport, on_delete=models.CASCADE, related_name="partition_rows")
    index = models.PositiveSmallIntegerField()
    rows_done = models.BigIntegerField(
        default=0, help_text="checkpoint: this partition's data rows applied and committed"
    )
    finished_at = models.DateTimeField(null=True, blank=True, help_text="every row of the partition applied")

    class Meta:
        ordering = ["data_import", "index"]
        constraints = [
            models.UniqueConstraint(fields=["data_import", "index"], name="import_partition_index")
        ]

    def __str__(self) -> str:
        return f"Import {self.data_import_id} partition {self.index}"


class ImportRowError(models.Model):
    data_import = models.ForeignKey(DataImport, on_delete=models.CASCADE, related_name="row_errors")
    row = models.BigIntegerField(help_text="row number in the file (the header is row 1)")
    column = models.CharField(max_length=200, blank=True)
    value = models.TextField(blank=True)
    code = models.CharField(max_length=40)
    message = models.TextField()
    raw = models.JSONField(default=dict, help_text="the row as uploaded, by column")

    class Meta:
        ordering = ["data_import", "row", "id"]

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


class DataExport(models.Model):
    name = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=20, choices=ExportModel.choices)
    environment = models.CharField(max_length=10)
    format = models.CharField(max_length=8, choices=FileFormat.choices, default=FileFormat.CSV)
    params = models.JSONField(default=dict, help_text="fields, filters, date range, date format")
    status = models.CharField(max_length=12, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    rows = models.BigIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", max_length=300, blank=True)
    message = models.TextField(blank=True)
    repeat = models.CharField(max_length=8, choices=Repeat.choices, default=Repeat.NONE, blank=True)
    repeat_time = models.TimeField(null=True, blank=True)
    active = models.BooleanField(default=True, help_text="repeated exports: whether the next run happens")
    next_run_at = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name or f"Export {self.pk}"
