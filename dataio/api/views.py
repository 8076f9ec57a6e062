"""Imports and exports in the integration API (signed like the rest of /api/; scope `entities`).

The reference has no public API for its Imports and Exports modules (reference-behaviour.md
§3.1/§3.2 list only the console); these endpoints are ours, shaped like its bulk operations:

- ``POST /api/imports`` (multipart: ``file``, ``model``, optional ``delimiter``, ``encoding``,
  ``target`` (pool / list / static segment id), ``earn`` (historical transactions: earn points;
  default false), ``mapping`` (a JSON object {column: field}; by
  default columns are matched by name)) -> 201 the import; its validation pass is queued.
  A bad file, an unknown column or a missing required column: 400 naming the field.
- ``POST /api/imports/{id}/start`` (validated imports) and ``.../cancel`` (until started).
- ``GET /api/imports/{id}``: status, counts, progress, the first validation errors, and
  ``error_file`` (a path) once the run ended with failed rows: ``GET /api/imports/{id}/errors``.
- ``POST /api/exports`` (JSON: ``model``, ``format``, ``params``) -> 201; ``GET /api/exports/{id}``;
  ``POST /api/exports/{id}/cancel`` (queued or running: a running export stops at its next chunk);
  ``GET /api/exports/{id}/download`` (the file, once finished).
Uploads through the API are limited to DATAIO_API_MAX_UPLOAD_BYTES (default 50 MB: the signature
covers the whole body, which is held in memory); larger files go through the console. A body that
is not UTF-8 (an XLSX) is bound to the signature by a signed X-Content-Hash, the SHA-256 of its
bytes (loyalty.api.auth): without it 401 140109, altered 401 140110.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from loyalty import clock
from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.requests import json_body
from loyalty.api.views import ApiView
from loyalty.bounds import is_digits
from loyalty.errors import BusinessRuleError, NotFound, ValidationError

from .. import exports, formats, running, wizard
from ..choices import ExportModel, ExportStatus, FileFormat, ImportModel
from ..models import DataExport, DataImport

ImportSerializer = inline_serializer(
    "DataImport",
    {
        name: serializers.JSONField(allow_null=True)
        for name in (
            "id",
            "model",
            "status",
            "file_name",
            "file_size",
            "format",
            "columns",
            "mapping",
            "total_rows",
            "rows_done",
            "created",
            "updated",
            "unchanged",
            "failed",
            "validation_errors",
            "first_errors",
            "message",
            "error_file",
            "created_at",
            "started_at",
            "finished_at",
        )
    },
)
ExportSerializer = inline_serializer(
    "DataExport",
    {
        name: serializers.JSONField(allow_null=True)
        for name in (
            "id",
            "model",
            "format",
            "params",
            "status",
            "rows",
            "size",
            "message",
            "download",
            "created_at",
            "finished_at",
            "expires_at",
        )
    },
)
UploadSerializer = inline_serializer(
    "ImportUpload",
    {
        "file": serializers.FileField(),
        "model": serializers.ChoiceField(choices=ImportModel.values),
        "delimiter": serializers.CharField(required=False),
        "encoding": serializers.CharField(required=False),
        "target": serializers.CharField(required=False),
        "mapping": serializers.CharField(required=False, help_text="JSON object {column: field}"),
        "earn": serializers.BooleanField(
            required=False, help_text="historical transactions: earn points (default false)"
        ),
    },
)
ExportRequestSerializer = inline_serializer(
    "ExportRequest",
    {
        "model": serializers.ChoiceField(choices=ExportModel.values),
        "format": serializers.ChoiceField(choices=FileFormat.values, required=False),
        "params": serializers.DictField(required=False),
    },
)
FILE = {
    (200, "application/octet-stream"): OpenApiResponse(str, description="the file (CSV, JSON or XLSX)"),
    **schema.COMMON,
}
ID = OpenApiParameter("id", str, OpenApiParameter.PATH)


def _unix(moment):
    return int(moment.timestamp()) if moment else None


def import_object(data_import: DataImport) -> dict:
    return {
        "id": data_import.pk,
        "model": data_import.model,
        "status": data_import.status,
        "file_name": data_import.file_name,
        "file_size": data_import.file_size,
        "format": data_import.format,
        "columns": data_import.columns,
        "mapping": data_import.mapping,
        "total_rows": data_import.total_rows,
        "rows_done": data_import.rows_done,
        "created": data_import.created,
        "updated": data_import.updated,
        "unchanged": data_import.unchanged,
        "failed": data_import.failed,
        "validation_errors": data_import.validation_errors,
        "first_errors": (data_import.preview or {}).get("errors", []),
        "message": data_import.message,
        "error_file": f"/api/imports/{data_import.pk}/errors" if data_import.error_file else None,
        "created_at": _unix(data_import.created_at),
        "started_at": _unix(data_import.started_at),
        "finished_at": _unix(data_import.finished_at),
    }


def export_object(export: DataExport) -> dict:
    return {
        "id": export.pk,
        "model": export.model,
        "format": export.format,
        "params": export.params,
        "status": export.status,
        "rows": export.rows,
        "size": export.size,
        "message": export.message,
        "download": f"/api/exports/{export.pk}/download" if export.status == ExportStatus.FINISHED else None,
        "created_at": _unix(export.created_at),
        "finished_at": _unix(export.finished_at),
        "expires_at": _unix(export.expires_at),
    }


def _import(request, pk: str) -> DataImport:
    found = (
        DataImport.objects.filter(pk=int(pk), environment=request.auth.environment).first()
        if is_digits(pk, 17)
        else None
    )
    if found is None:
        raise NotFound(f"Import {pk[:40]!r} does not exist.", field="id")
    return found


class ImportCreateView(ApiView):
    required_scope = Scope.ENTITIES
    parser_classes = [MultiPartParser]

    def body_limit(self) -> int:
        return int(getattr(settings, "DATAIO_API_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))

    @extend_schema(
        operation_id="import_create",
        summary="Upload a file to import (multipart)",
        request={"multipart/form-data": UploadSerializer},
        responses=schema.creates(ImportSerializer),
        tags=["imports"],
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError("Upload the file as the multipart field 'file'.", field="file")
        model = request.data.get("model", "")
        if model not in ImportModel.values:
            raise ValidationError(f"'model' must be one of {', '.join(ImportModel.values)}.", field="model")
        target = request.data.get("target") or None
        if target is not None and not is_digits(target):
            raise ValidationError("'target' must be an id.", field="target")
        if (
            model in (ImportModel.COUPONS, ImportModel.LIST_MEMBERS, ImportModel.SEGMENT_MEMBERS)
            and target is None
        ):
            raise ValidationError(
                "This model needs 'target' (the pool, list or static segment id).", field="target"
            )
        earn_value = str(request.data.get("earn", "false")).lower()
        if earn_value not in ("true", "false", "1", "0", ""):
            raise ValidationError("'earn' must be true or false.", field="earn")
        earn = earn_value in ("true", "1")
        try:
            data_import = wizard.upload(
                model=model,
                handle=upload.file,
                file_name=upload.name or "upload",
                size=upload.size,
                environment=request.auth.environment,
                delimiter=request.data.get("delimiter", ""),
                encoding=request.data.get("encoding") or "utf-8",
                target=int(target) if target else None,
                earn=earn,
            )
        except formats.FileProblem as problem:
            raise ValidationError(problem.message, field=problem.field) from None
        mapping = data_import.mapping
        if request.data.get("mapping"):
            try:
                mapping = json.loads(request.data["mapping"])
            except ValueError:
                mapping = None
            if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                raise ValidationError("'mapping' must be a JSON object {column: field}.", field="mapping")
        unknown = [c for c, f in mapping.items() if not f]
        if unknown and not request.data.get("mapping"):
            raise ValidationError(
                f"Columns that match no field: {', '.join(unknown)[:300]}; send 'mapping' (\"\" ignores a column).",
                field="mapping",
            )
        problems = wizard.save_mapping(data_import, mapping)
        if problems:
            raise ValidationError(" ".join(problems)[:1000], field="mapping")
        running.track(data_import)
        data_import.refresh_from_db()
        return Response(import_object(data_import), status=201)


class ImportDetailView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="import_status",
        summary="An import's status and counts",
        parameters=[ID],
        responses=schema.reads(ImportSerializer),
        tags=["imports"],
    )
    def get(self, request, pk):
        return Response(import_object(_import(request, pk)))


class ImportActionView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="import_action",
        summary="Start or cancel an import",
        parameters=[ID, OpenApiParameter("action", str, OpenApiParameter.PATH, enum=["start", "cancel"])],
        request=None,
        responses=schema.writes(ImportSerializer),
        tags=["imports"],
    )
    def post(self, request, pk, action):
        data_import = _import(request, pk)
        done = running.start(data_import) if action == "start" else running.cancel(data_import)
        if not done:
            raise BusinessRuleError(
                f"The import is {data_import.status}: it cannot {action}.", field="status"
            )
        data_import.refresh_from_db()
        return Response(import_object(data_import))


class ImportErrorsView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="import_errors",
        summary="The error file (CSV)",
        parameters=[ID],
        responses=schema.csv_read(),
        tags=["imports"],
    )
    def get(self, request, pk):
        data_import = _import(request, pk)
        if not data_import.error_file:
            raise NotFound("This import has no error file.", field="id")
        return FileResponse(
            data_import.error_file.open("rb"), as_attachment=True, filename=f"import-{pk}-errors.csv"
        )


def _export(request, pk: str) -> DataExport:
    found = (
        DataExport.objects.filter(pk=int(pk), environment=request.auth.environment).first()
        if is_digits(pk, 17)
        else None
    )
    if found is None:
        raise NotFound(f"Export {pk[:40]!r} does not exist.", field="id")
    return found


class ExportCreateView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="export_create",
        summary="Start an export",
        request=ExportRequestSerializer,
        responses=schema.creates(ExportSerializer),
        tags=["exports"],
    )
    def post(self, request):
        body = json_body(request, optional=True)
        model, fmt, params = body.get("model"), body.get("format", "csv"), body.get("params", {})
        if model not in ExportModel.values:
            raise ValidationError(f"'model' must be one of {', '.join(ExportModel.values)}.", field="model")
        if fmt not in FileFormat.values:
            raise ValidationError("'format' must be csv, json or xlsx.", field="format")
        if not isinstance(params, dict):
            raise ValidationError("'params' must be an object.", field="params")
        for name, value in params.items():
            lists = name in ("fields", "actions")
            if lists and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValidationError(f"'params.{name}' must be a list of names.", field=f"params.{name}")
            scalar = isinstance(value, (str, int)) and not isinstance(value, bool)
            if not lists and not scalar:
                raise ValidationError(f"'params.{name}' must be text or a number.", field=f"params.{name}")
        export = DataExport(
            model=model,
            environment=request.auth.environment,
            format=fmt,
            params=params,
            created_at=clock.now(),
        )
        try:
            exports.check(export)
        except exports.ExportProblem as problem:
            raise ValidationError(
                problem.message, field=f"params.{problem.field}" if problem.field else "params"
            ) from None
        export.save()
        exports.queue(export)
        return Response(export_object(export), status=201)


class ExportDetailView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="export_status",
        summary="An export's status",
        parameters=[ID],
        responses=schema.reads(ExportSerializer),
        tags=["exports"],
    )
    def get(self, request, pk):
        return Response(export_object(_export(request, pk)))


class ExportCancelView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="export_cancel",
        summary="Cancel a queued or running export (its partial file is discarded)",
        parameters=[ID],
        request=None,
        responses=schema.writes(ExportSerializer),
        tags=["exports"],
    )
    def post(self, request, pk):
        export = _export(request, pk)
        if not exports.cancel(export):
            raise BusinessRuleError(f"The export is {export.status}: it cannot be cancelled.", field="status")
        export.refresh_from_db()
        return Response(export_object(export))


class ExportDownloadView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="export_download",
        summary="The export file",
        parameters=[ID],
        responses=FILE,
        tags=["exports"],
    )
    def get(self, request, pk):
        export = _export(request, pk)
        if export.status != ExportStatus.FINISHED or not export.file:
            raise NotFound(f"The export is {export.status}: no file to download.", field="id")
        return FileResponse(
            export.file.open("rb"), as_attachment=True, filename=export.file.name.rsplit("/", 1)[-1]
        )
