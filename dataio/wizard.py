"""The import wizard's steps, shared by the console and the API.

1. `upload(...)`: store the file, read its header (formats.inspect: encoding, delimiter, header,
   zip-bomb checks), auto-map the columns; status uploaded. A bad file is a FileProblem and
   nothing is kept.
2. `save_mapping(data_import, mapping)`: check it (required fields mapped, nothing read-only or
   unknown, no field twice); status pending, and the validation pass is queued.
3. the validation pass (dataio.running.validate) -> validated; 4. `running.start` -> processing.
Cancellable (`running.cancel`) until it starts.
"""

from __future__ import annotations

from django.core.files import File
from django.db import transaction
from django_q.tasks import async_task

from loyalty import clock

from . import formats
from .choices import ImportModel, ImportStatus
from .importers import importer_for
from .models import DataImport

MAPPABLE = {ImportStatus.UPLOADED, ImportStatus.PENDING, ImportStatus.VALIDATED}


def upload(
    *,
    model: str,
    handle,
    file_name: str,
    size: int,
    environment: str,
    user=None,
    delimiter="",
    encoding="utf-8",
    target=None,
    earn: bool = False,
) -> DataImport:
    """Store an uploaded file as an import (status uploaded). Raises FileProblem."""
    if size > formats.max_upload_bytes():
        raise formats.FileProblem(
            f"The file is {size:,} bytes; the limit is {formats.max_upload_bytes():,} bytes."
        )
    info = formats.inspect(handle, file_name, delimiter=delimiter, encoding=encoding or "utf-8")
    handle.seek(0)
    data_import = DataImport(
        model=model,
        environment=environment,
        file_name=file_name[:300],
        file_size=size,
        format=info["format"],
        delimiter=info["delimiter"],
        encoding=info["encoding"],
        columns=info["columns"],
        target=target,
        earn=bool(earn) and model == ImportModel.TRANSACTIONS,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        created_at=clock.now(),
    )
    data_import.mapping = importer_for(data_import).auto_map(info["columns"])
    data_import.file.save(f"import-{clock.now():%Y%m%d%H%M%S}.{info['format']}", File(handle), save=False)
    data_import.save()
    return data_import


def mapping_problems(data_import: DataImport, mapping: dict) -> list[str]:
    importer = importer_for(data_import)
    problems = importer.check_mapping(mapping, data_import.columns)
    unknown = [c for c, target in mapping.items() if c not in data_import.columns]
    if unknown:
        problems.append(f"The file has no column {unknown[0]!r}.")
    return problems


def save_mapping(data_import: DataImport, mapping: dict) -> list[str]:
    """Save the mapping and queue the validation pass; returns the problems (nothing saved)."""
    if data_import.status not in MAPPABLE:
        return [f"The import is {data_import.get_status_display().lower()}; its mapping cannot change."]
    missing = [column for column in mapping if column not in data_import.columns]
    if missing:  # a mapping for another file's columns would silently import nothing of them
        return [f"The file has no column {missing[0][:100]!r}."]
    mapping = {column: mapping.get(column, "") or "" for column in data_import.columns}
    problems = mapping_problems(data_import, mapping)
    if problems:
        return problems
    DataImport.objects.filter(pk=data_import.pk).update(
        mapping=mapping, status=ImportStatus.PENDING, total_rows=None, validation_errors=None, preview={}
    )
    data_import.refresh_from_db()
    transaction.on_commit(lambda: async_task("dataio.tasks.validate_import", data_import.pk))
    return []


def template_columns(data_import_model: str) -> list[str]:
    """The columns of the downloadable template: every field of the model, custom fields too."""
    return importer_for(DataImport(model=data_import_model)).template_columns()
