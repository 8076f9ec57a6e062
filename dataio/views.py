"""Console pages: Jobs, Imports (the wizard) and Exports."""

from __future__ import annotations

import csv
import io
import time

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from loyalty import clock
from loyalty.bounds import is_digits
from loyalty.console.views import ConsoleView, ObjectListView
from loyalty.models import Program
from workflows import pending

from . import exports, formats, jobs, running, wizard
from .choices import ExportStatus, ImportModel, ImportStatus, JobKind
from .filtersets import ExportFilterSet, ImportFilterSet, JobFilterSet
from .forms import ExportForm, MappingForm, UploadForm
from .importers import importer_for
from .models import DataExport, DataImport, Job
from .tables import ExportTable, ImportTable, JobTable

# -- jobs -------------------------------------------------------------------------------------


class JobListView(ObjectListView):
    title = "Jobs"
    table_class = JobTable
    filterset_class = JobFilterSet
    template_name = "dataio/job_list.html"

    def get_queryset(self):
        return (
            Job.objects.filter(Q(environment=self.request.environment) | Q(environment=""))
            .select_related("started_by")
            .order_by("-id")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Failed background work outside the jobs: the workflows' action branches parked as
        # failed (Workflows → Pending triggers), counted up to a cap through a partial index.
        if Program.current().module_enabled("workflows"):
            context["failed_triggers"] = pending.failed_count(self.request.environment)
        return context


CANCEL_PERMISSION = {JobKind.EXPORT: "loyalty.export_data"}


class JobCancelView(ConsoleView, TemplateView):
    """Cancel a job from the Jobs page: an import until it starts, an export while queued or
    running, any other job that declared itself cancellable (it checks the flag and stops).
    Exports need the export permission, every other job the import permission."""

    permission_required = "loyalty.view_console"
    http_method_names = ["post"]

    def post(self, request, pk):
        job = get_object_or_404(Job, Q(environment=request.environment) | Q(environment=""), pk=pk)
        if not request.user.has_perm(CANCEL_PERMISSION.get(job.kind, "loyalty.import_data")):
            raise PermissionDenied
        if job.kind == JobKind.IMPORT and job.key.startswith("import:"):
            data_import = get_object_or_404(DataImport, pk=int(job.key.split(":", 1)[1]))
            done = running.cancel(data_import)
        elif job.kind == JobKind.EXPORT and job.key.startswith("export:"):
            export = get_object_or_404(DataExport, pk=int(job.key.split(":", 1)[1]))
            done = exports.cancel(export)
        else:
            done = jobs.request_cancel(job)
        if done:
            messages.success(
                request, f"{job}: cancel requested." if job.status == "processing" else f"{job} cancelled."
            )
        else:
            messages.error(request, f"{job} can no longer be cancelled.")
        return HttpResponseRedirect(reverse("dataio:job_list"))


# -- imports ----------------------------------------------------------------------------------


class ImportListView(ObjectListView):
    title = "Imports"
    permission_required = "loyalty.import_data"
    table_class = ImportTable
    filterset_class = ImportFilterSet
    actions = [("New import", "dataio:import_add", "loyalty.import_data")]

    def get_queryset(self):
        return DataImport.objects.filter(environment=self.request.environment).select_related("created_by")


class ImportCreateView(ConsoleView, TemplateView):
    """Step 1: the data model, the file and its format options."""

    permission_required = "loyalty.import_data"
    template_name = "dataio/import_add.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", UploadForm(initial={"model": self.request.GET.get("model", "customers")}))
        context["title"] = "New import"
        context["models"] = ImportModel.choices
        return context

    def post(self, request, *args, **kwargs):
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                data_import = wizard.upload(
                    model=form.cleaned_data["model"],
                    handle=upload.file,
                    file_name=upload.name or "upload",
                    size=upload.size,
                    environment=request.environment,
                    user=request.user,
                    delimiter=form.cleaned_data["delimiter"],
                    encoding=form.cleaned_data["encoding"],
                    target=form.target(),
                    earn=form.cleaned_data.get("earn", False),
                )
            except formats.FileProblem as problem:
                form.add_error(problem.field if problem.field in form.fields else "file", problem.message)
            else:
                running.track(data_import)
                messages.success(request, f"{data_import.file_name} uploaded: check how its columns map.")
                return HttpResponseRedirect(reverse("dataio:import_detail", args=[data_import.pk]))
        return self.render_to_response(self.get_context_data(form=form))


def _mapping_form(data_import, data=None):
    importer = importer_for(data_import)
    return MappingForm(
        data,
        columns=data_import.columns,
        fields=importer.fields(),
        initial_mapping=data_import.mapping,
        free=importer.free_attributes,
    )


class ImportDetailView(ConsoleView, TemplateView):
    """Steps 2-4: map the columns, see the validation pass, run, watch progress, get the report."""

    permission_required = "loyalty.import_data"
    template_name = "dataio/import_detail.html"

    def get_object(self):
        return get_object_or_404(DataImport, pk=self.kwargs["pk"], environment=self.request.environment)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        data_import = self.get_object()
        context.update(
            {
                "title": str(data_import),
                "imp": data_import,
                "progress": progress(data_import),
                "mapping_form": kwargs.get("mapping_form") or _mapping_form(data_import),
                "mapping_problems": kwargs.get("mapping_problems") or [],
                "mappable": data_import.status in wizard.MAPPABLE,
                "unknown_columns": [c for c, f in data_import.mapping.items() if not f],
                "errors": data_import.row_errors.all()[:50],
            }
        )
        return context

    def post(self, request, pk):
        data_import = self.get_object()
        form = _mapping_form(data_import, request.POST)
        form.is_valid()
        problems = wizard.save_mapping(data_import, form.mapping())
        if problems:
            return self.render_to_response(
                self.get_context_data(mapping_form=form, mapping_problems=problems)
            )
        messages.success(request, "Mapping saved: every row is being checked (nothing is stored yet).")
        return HttpResponseRedirect(reverse("dataio:import_detail", args=[pk]))


def progress(data_import: DataImport) -> dict:
    """Rows done, rows/s and the time left, for the bar."""
    done = data_import.rows_done  # summed over the partitions, as `seconds` (they run side by side)
    total = data_import.total_rows or 0
    rate = done * max(data_import.partitions, 1) / data_import.seconds if data_import.seconds else 0
    left = (total - done) / rate if rate and total > done else 0
    return {
        "done": done,
        "total": total,
        "percent": int(100 * done / total)
        if total
        else (100 if data_import.status == ImportStatus.FINISHED else 0),
        "rate": int(rate),
        "left": time.strftime("%H:%M:%S", time.gmtime(left)) if left else "",
        "active": data_import.status
        in {ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.PROCESSING},
    }


class ImportProgressView(ImportDetailView):
    """The progress block alone: htmx polls it every two seconds while the import runs."""

    template_name = "dataio/includes/import_progress.html"

    def post(self, request, pk):
        raise Http404


class ImportActionView(ConsoleView, TemplateView):
    """POST: run, cancel, resume or remap an import."""

    permission_required = "loyalty.import_data"
    http_method_names = ["post"]

    def post(self, request, pk, action):
        data_import = get_object_or_404(DataImport, pk=pk, environment=request.environment)
        done = {
            "run": running.start,
            "cancel": running.cancel,
            "resume": running.resume,
        }.get(action)
        if done is None:
            raise Http404
        if done(data_import):
            messages.success(
                request,
                {"run": "Import started.", "cancel": "Import cancelled.", "resume": "Import resumed."}[
                    action
                ],
            )
        else:
            messages.error(
                request, f"The import is {data_import.get_status_display().lower()}: it cannot {action}."
            )
        return HttpResponseRedirect(reverse("dataio:import_detail", args=[pk]))


class ImportErrorFileView(ConsoleView, TemplateView):
    permission_required = "loyalty.import_data"

    def get(self, request, pk):
        data_import = get_object_or_404(DataImport, pk=pk, environment=request.environment)
        if not data_import.error_file:
            raise Http404("This import has no error file.")
        return FileResponse(
            data_import.error_file.open("rb"), as_attachment=True, filename=f"import-{pk}-errors.csv"
        )


class ImportTemplateView(ConsoleView, TemplateView):
    """A CSV template with every field of the model (custom fields too)."""

    permission_required = "loyalty.import_data"

    def get(self, request):
        model = request.GET.get("model", ImportModel.CUSTOMERS)
        if model not in ImportModel.values:
            raise Http404
        buffer = io.StringIO()
        csv.writer(buffer).writerow(wizard.template_columns(model))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{model}-template.csv"'
        return response


# -- exports ----------------------------------------------------------------------------------


class ExportListView(ObjectListView):
    title = "Exports"
    permission_required = "loyalty.export_data"
    table_class = ExportTable
    filterset_class = ExportFilterSet
    actions = [("New export", "dataio:export_add", "loyalty.export_data")]

    def get_queryset(self):
        return DataExport.objects.filter(environment=self.request.environment).select_related("created_by")


class ExportCreateView(ConsoleView, TemplateView):
    """The export form; `?model=customers&query=<the list's query>` (or `&segment=<id>`) pre-fills it."""

    permission_required = "loyalty.export_data"
    template_name = "dataio/export_add.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("query", "")
        for key in ("segment", "list"):
            if is_digits(self.request.GET.get(key, "")):
                query = f"{key}={self.request.GET[key]}"
        context.setdefault(
            "form", ExportForm(initial={"model": self.request.GET.get("model", "customers"), "query": query})
        )
        context["title"] = "New export"
        context["customer_columns"] = exports.customer_columns()
        return context

    def post(self, request, *args, **kwargs):
        form = ExportForm(request.POST)
        if form.is_valid():
            export = DataExport(
                name=form.cleaned_data["name"],
                model=form.cleaned_data["model"],
                environment=request.environment,
                format=form.cleaned_data["format"],
                params=form.params(),
                repeat=form.cleaned_data["repeat"] or "",
                repeat_time=form.cleaned_data["repeat_time"],
                created_by=request.user,
                created_at=clock.now(),
            )
            try:
                exports.check(export)
            except exports.ExportProblem as problem:
                form.add_error(problem.field if problem.field in form.fields else None, problem.message)
            else:
                export.save()
                if export.repeat:
                    export.next_run_at = exports.next_run(export, clock.now())
                    export.save(update_fields=["next_run_at"])
                    messages.success(
                        request,
                        f"Repeated export saved; the first run is at {export.next_run_at:%Y-%m-%d %H:%M} UTC.",
                    )
                else:
                    exports.queue(export)
                    messages.success(request, "Export started.")
                return HttpResponseRedirect(reverse("dataio:export_detail", args=[export.pk]))
        return self.render_to_response(self.get_context_data(form=form))


class ExportDetailView(ConsoleView, TemplateView):
    permission_required = "loyalty.export_data"
    template_name = "dataio/export_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        export = get_object_or_404(DataExport, pk=self.kwargs["pk"], environment=self.request.environment)
        context.update(
            {
                "title": str(export),
                "export": export,
                "runs": export.runs.order_by("-id")[:50],
                "active": export.status in {ExportStatus.PENDING, ExportStatus.PROCESSING},
            }
        )
        return context

    def post(self, request, pk):
        """Cancel a queued or running export (`action=cancel`), or inactivate / reactivate a
        repeated export."""
        if request.POST.get("action") == "cancel":
            export = get_object_or_404(DataExport, pk=pk, environment=request.environment)
            if exports.cancel(export):
                messages.success(request, "Export cancelled: no file is kept.")
            else:
                messages.error(
                    request, f"The export is {export.get_status_display().lower()}: it cannot be cancelled."
                )
            return HttpResponseRedirect(reverse("dataio:export_detail", args=[pk]))
        export = get_object_or_404(DataExport, pk=pk, environment=request.environment, parent__isnull=True)
        if not export.repeat:
            raise Http404
        export.active = not export.active
        if export.active:
            export.next_run_at = exports.next_run(export, clock.now())
        export.save(update_fields=["active", "next_run_at"])
        messages.success(request, "Repeated export " + ("reactivated." if export.active else "inactivated."))
        return HttpResponseRedirect(reverse("dataio:export_detail", args=[pk]))


class ExportDownloadView(ConsoleView, TemplateView):
    permission_required = "loyalty.export_data"

    def get(self, request, pk):
        export = get_object_or_404(DataExport, pk=pk, environment=request.environment)
        if export.status != ExportStatus.FINISHED or not export.file:
            raise Http404("The file is not available (not finished yet, failed or expired).")
        name = export.file.name.rsplit("/", 1)[-1]
        return FileResponse(export.file.open("rb"), as_attachment=True, filename=name)
