from django.db import models


class JobKind(models.TextChoices):
    """Every kind of background work the Jobs page lists (register a job with dataio.jobs.track)."""

    IMPORT = "import", "Import"
    EXPORT = "export", "Export"
    BULK_LIST = "bulk_list", "Bulk list operation"
    SEGMENT_REBUILD = "segment_rebuild", "Segment rebuild"
    POINT_EXPIRY = "point_expiry", "Point expiry and activation"
    TIER_REVIEW = "tier_review", "Tier review"
    WORKFLOW_DATE = "workflow_date", "Workflow date run"
    OTHER = "other", "Other"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    FINISHED = "finished", "Finished"
    FINISHED_WITH_ERRORS = "finished_with_errors", "Finished with errors"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL = {JobStatus.FINISHED, JobStatus.FINISHED_WITH_ERRORS, JobStatus.FAILED, JobStatus.CANCELLED}


class ImportModel(models.TextChoices):
    """What an import creates or updates (reference-behaviour.md §3.1 "Models")."""

    CUSTOMERS = "customers", "Customers"
    EVENTS = "events", "Events"
    TRANSACTIONS = "transactions", "Historical transactions"
    COUPONS = "coupons", "Coupon codes into a pool"
    LIST_MEMBERS = "list_members", "Customer list members"
    SEGMENT_MEMBERS = "segment_members", "Static segment members"


class ImportStatus(models.TextChoices):
    """The wizard's statuses, in order (reference-behaviour.md §3.1, plus validating/validated for
    the preload pass and "finished with errors", so that "finished" never hides a failed row)."""

    UPLOADED = "uploaded", "Uploaded"
    PENDING = "pending", "Pending"
    VALIDATING = "validating", "Validating"
    VALIDATED = "validated", "Validated"
    PROCESSING = "processing", "Processing"
    FINISHED = "finished", "Finished"
    FINISHED_WITH_ERRORS = "finished_with_errors", "Finished with errors"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


IMPORT_CANCELLABLE = {
    ImportStatus.UPLOADED,
    ImportStatus.PENDING,
    ImportStatus.VALIDATING,
    ImportStatus.VALIDATED,
}


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON"
    XLSX = "xlsx", "Excel (XLSX)"


class ExportModel(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    EVENTS = "events", "Events"
    TRANSACTIONS = "transactions", "Transactions with items"
    COUPONS = "coupons", "Coupons"
    LEDGER = "ledger", "Points transaction log"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


EXPORT_CANCELLABLE = {ExportStatus.PENDING, ExportStatus.PROCESSING}


class Repeat(models.TextChoices):
    NONE = "", "Once"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
