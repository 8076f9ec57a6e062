"""Console pages of workflows and campaigns (the Workflows module; 404 when it is off).

Viewing needs view_console; creating, editing, activating, importing, test runs and cancelling
waiting runs need manage_workflows. The work is in workflows.editing (versions, status),
workflows.runner (cancel) and workflows.testrun (dry run).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView
from rest_framework.exceptions import ParseError

from customers.views.base import CustomerTabView
from events.models import Event
from loyalty.audit import log as audit
from loyalty.bounds import is_digits
from loyalty.console.views import ConsoleView, ObjectEditView, ObjectListView
from loyalty.errors import EngineError
from loyalty.models import Program
from segments.forms import MATCH_CHOICES

from . import campaigns, editing, pending, runner, testrun
from .choices import RunStatus
from .filtersets import CampaignFilterSet, RunFilterSet, WorkflowFilterSet
from .forms import CampaignForm, ImportForm, TestRunForm, WorkflowForm, loads, node_form, node_form_rows
from .graph import Graph, InvalidGraph
from .models import Campaign, RunStep, Workflow, WorkflowRun
from .nodes import FAMILIES, REGISTRY
from .tables import CampaignTable, RunTable, WorkflowTable

EXPORT_FORMAT = "loyalty-workflow/1"
MAX_IMPORT_BYTES = 1_000_000
VERSIONS_SHOWN = 20


class ModuleMixin:
    """404 when the Workflows module is off (the navigation hides the pages too)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Program.current().module_enabled("workflows"):
            raise Http404("The Workflows module is off.")
        return super().dispatch(request, *args, **kwargs)


class FailedCountMixin:
    """`outbox_failed` (count, capped) for the Workflows area's menu (its Pending triggers badge)."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["outbox_failed"] = pending.failed_count(self.request.environment)
        return context


def _workflow(request, pk) -> Workflow:
    return get_object_or_404(
        Workflow.objects.select_related("version", "campaign"), pk=pk, environment=request.environment
    )


def palette() -> list[dict]:
    """The node types by family, for the editor's palette (from the registry)."""
    return [
        {"family": family, "nodes": [n for n in REGISTRY.values() if n.family == family]}
        for family in FAMILIES
    ]


class WorkflowListView(FailedCountMixin, ModuleMixin, ObjectListView):
    filterset_class = WorkflowFilterSet
    table_class = WorkflowTable
    title = "Workflows"
    template_name = "workflows/workflow_list.html"
    actions = [
        ("Create new general workflow", "workflows:workflow_add", "loyalty.manage_workflows"),
        ("Import", "workflows:workflow_import", "loyalty.manage_workflows"),
    ]

    def get_queryset(self):
        return Workflow.objects.filter(environment=self.request.environment).select_related(
            "version", "campaign"
        )


class CampaignListView(FailedCountMixin, ModuleMixin, ObjectListView):
    filterset_class = CampaignFilterSet
    table_class = CampaignTable
    title = "Campaigns"
    template_name = "workflows/workflow_list.html"
    actions = [("Create new campaign", "workflows:campaign_add", "loyalty.manage_workflows")]

    def get_queryset(self):
        return Campaign.objects.filter(environment=self.request.environment)


class CampaignEditView(ModuleMixin, ObjectEditView):
    model = Campaign
    form_class = CampaignForm
    permission_required = "loyalty.manage_workflows"
    title_create = "New campaign"

    def get_queryset(self):
        return Campaign.objects.filter(environment=self.request.environment)

    def get_success_url(self):
        return reverse("workflows:campaign_list")

    def save(self, form):
        obj = form.save(commit=False)
        if obj.pk is None:
            obj.environment = self.request.environment
        return campaigns.save_settings(obj, form.Meta.fields)


class WorkflowEditView(ModuleMixin, ConsoleView, TemplateView):
    """Create or edit a workflow: settings and the graph (the visual editor writes the JSON field;
    without JavaScript the JSON is edited directly). Saving validates the whole graph and shows
    each error on its node; a changed graph becomes a new version."""

    permission_required = "loyalty.manage_workflows"
    template_name = "workflows/workflow_form.html"

    def get_object(self) -> Workflow | None:
        return _workflow(self.request, self.kwargs["pk"]) if "pk" in self.kwargs else None

    def get(self, request, *args, **kwargs):
        workflow = self.get_object()
        graph = workflow.version.graph if workflow and workflow.version else _starter_graph()
        initial = {"graph": json.dumps(graph, indent=1)}
        if workflow is None and is_digits(request.GET.get("campaign", "")):
            initial["campaign"] = request.GET["campaign"]
        form = WorkflowForm(instance=workflow, environment=request.environment, initial=initial)
        return self.render_page(form, workflow, [])

    def post(self, request, *args, **kwargs):
        workflow = self.get_object()
        form = WorkflowForm(request.POST, instance=workflow, environment=request.environment)
        if not form.is_valid():
            return self.render_page(form, workflow, [])
        graph = form.cleaned_data["graph"] or _starter_graph()
        created = workflow is None
        try:
            with transaction.atomic():
                obj = form.save(commit=False)
                if created:
                    obj.environment = request.environment
                editing.save_settings(obj, form.Meta.fields)
                version = editing.save_graph(obj, graph, request.user)
                audit.record(
                    user=request.user,
                    action="workflow_create" if created else "workflow_update",
                    environment=request.environment,
                    object_repr=f"workflow {obj.name}",
                    before={},
                    after={"name": obj.name, "version": version.number},
                )
        except InvalidGraph as invalid:
            form.add_error("graph", f"The graph has {len(invalid.errors)} problem(s); see the nodes.")
            return self.render_page(form, workflow, [e.as_dict() for e in invalid.errors], status=400)
        messages.success(request, f"Workflow “{obj.name}” saved (version {version.number}).")
        return HttpResponseRedirect(reverse("workflows:workflow_detail", args=[obj.pk]))

    def render_page(self, form, workflow, errors, status=200):
        context = self.get_context_data(
            form=form,
            workflow=workflow,
            graph_errors=errors,
            palette=palette(),
            title=f"Edit workflow “{workflow}”" if workflow else "New workflow",
        )
        return self.render_to_response(context, status=status)


def _starter_graph() -> dict:
    return {
        "nodes": [
            {"id": "trigger", "type": "event_trigger", "config": {"action": "opt_in"}, "x": 40, "y": 120}
        ],
        "edges": [],
    }


class NodeFormView(ModuleMixin, ConsoleView, View):
    """GET ?type=&config=&errors= → the node's configuration form (HTML fragment for the editor);
    `errors` (JSON [{message, field}]) are the last save's errors of the node, shown on their fields."""

    permission_required = "loyalty.manage_workflows"

    def get(self, request):
        kind = request.GET.get("type", "")
        if not kind:
            return HttpResponse('<p class="muted">Select a node to configure it.</p>')
        if kind not in REGISTRY:
            raise Http404("Unknown node type.")
        config, errors = _json_param(request, "config", dict), _json_param(request, "errors", list)
        errors = [e for e in errors if isinstance(e, dict)][:50]
        form = node_form(kind, config, errors)
        return render(
            request,
            "workflows/includes/node_form.html",
            {
                "form": form,
                "node": REGISTRY[kind],
                "rows": node_form_rows(kind, form, config),
                "match_choices": MATCH_CHOICES,
            },
        )


def _json_param(request, name: str, kind: type):
    """A query parameter holding JSON of `kind` (dict or list); empty when missing or malformed."""
    try:
        value = loads(request.GET.get(name) or "null")
    except ParseError:
        value = None
    return value if isinstance(value, kind) else kind()


class WorkflowRunsView(ModuleMixin, ObjectListView):
    """A workflow's Log tab (every run) or its Running workflows tab (`waiting=True`)."""

    filterset_class = RunFilterSet
    table_class = RunTable
    template_name = "workflows/workflow_detail.html"
    waiting = False

    def get_queryset(self):
        self.workflow = _workflow(self.request, self.kwargs["pk"])
        runs = WorkflowRun.objects.filter(workflow=self.workflow).select_related(
            "customer", "version", "workflow"
        )
        if self.waiting:
            return runs.filter(status=RunStatus.WAITING).order_by("resume_at", "id")
        return runs.order_by("-id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workflow = self.workflow
        context.update(
            workflow=workflow,
            title=workflow.name,
            waiting=self.waiting,
            graph_json=json.dumps(workflow.version.graph if workflow.version else {}),
            versions=workflow.versions.order_by("-number")[:VERSIONS_SHOWN],
            versions_total=workflow.versions.count(),  # one indexed count of one workflow's rows
            can_manage=self.request.user.has_perm("loyalty.manage_workflows"),
        )
        return context


class WorkflowStatusView(ModuleMixin, ConsoleView, View):
    """POST activate / inactivate."""

    permission_required = "loyalty.manage_workflows"

    def post(self, request, pk, action):
        workflow = _workflow(request, pk)
        if action not in ("activate", "inactivate"):
            raise Http404("No such action.")
        try:
            with transaction.atomic():  # the status and its change-log entry together
                editing.set_status(workflow, action == "activate", request.user)
                audit.record(
                    user=request.user,
                    action=f"workflow_{action}",
                    environment=request.environment,
                    object_repr=f"workflow {workflow.name}",
                    before={},
                    after={"status": workflow.status},
                )
        except InvalidGraph as invalid:
            messages.error(request, f"Cannot activate: {invalid}")
        else:
            messages.success(
                request, f"Workflow “{workflow.name}” is {workflow.get_status_display().lower()}."
            )
        return HttpResponseRedirect(reverse("workflows:workflow_detail", args=[workflow.pk]))


class WorkflowExportView(ModuleMixin, ConsoleView, View):
    def get(self, request, pk):
        workflow = _workflow(request, pk)
        body = {
            "format": EXPORT_FORMAT,
            "name": workflow.name,
            "description": workflow.description,
            "priority": workflow.priority,
            "graph": workflow.version.graph if workflow.version else None,
        }
        response = JsonResponse(body, json_dumps_params={"indent": 1})
        response["Content-Disposition"] = f'attachment; filename="workflow-{workflow.pk}.json"'
        return response


class WorkflowImportView(ModuleMixin, ConsoleView, TemplateView):
    """Import an exported workflow (e.g. from sandbox to live): created inactive, graph validated."""

    permission_required = "loyalty.manage_workflows"
    template_name = "workflows/workflow_import.html"

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=ImportForm(), title="Import a workflow"))

    def post(self, request, *args, **kwargs):
        form = ImportForm(request.POST, request.FILES)
        errors: list[dict] = []
        if form.is_valid():
            try:
                raw = form.cleaned_data["file"].read(MAX_IMPORT_BYTES + 1)
                if len(raw) > MAX_IMPORT_BYTES:  # was cut and read: "Unterminated string", a wrong reason
                    raise ValueError(f"the file is larger than {MAX_IMPORT_BYTES:,} bytes")
                body = loads(raw.decode(json.detect_encoding(raw)))
                if not isinstance(body, dict) or body.get("format") != EXPORT_FORMAT:
                    raise ValueError(f'not an exported workflow (format "{EXPORT_FORMAT}")')
                # The name, description and priority pass the editor's own form (a NUL, a
                # priority past the column's range: a field error, not a database error).
                fields = WorkflowForm(import_fields(body), environment=request.environment)
                if not fields.is_valid():
                    raise ValueError(
                        "; ".join(f"{name}: {' '.join(errs)}" for name, errs in fields.errors.items())
                    )
                with transaction.atomic():
                    workflow = fields.save(commit=False)
                    workflow.environment = request.environment
                    workflow.save()
                    editing.save_graph(workflow, body.get("graph"), request.user)
            except InvalidGraph as invalid:
                errors = [e.as_dict() for e in invalid.errors]
                form.add_error("file", "The workflow's graph is not valid here.")
            except ParseError as error:
                form.add_error("file", f"Cannot read the file: {error.detail}")
            except (ValueError, TypeError, UnicodeDecodeError) as error:
                form.add_error("file", f"Cannot read the file: {error}")
            else:
                messages.success(request, f"Workflow “{workflow.name}” imported (inactive).")
                return HttpResponseRedirect(reverse("workflows:workflow_detail", args=[workflow.pk]))
        context = self.get_context_data(form=form, title="Import a workflow", graph_errors=errors)
        return self.render_to_response(context, status=400)


def import_fields(body: dict) -> dict:
    """The editor form's data from an exported workflow: the name and description as they are
    (the form refuses one too long, never cut), a text field that is not a string refused."""
    fields = {"name": "Imported workflow", "description": ""}
    for name in fields:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name}: must be a string, not {type(value).__name__}")
        fields[name] = value or fields[name]
    fields["priority"] = body.get("priority") if body.get("priority") is not None else 100
    return fields


class WorkflowTestView(ModuleMixin, ConsoleView, TemplateView):
    """Test run: the workflow against a customer and a sample event, rolled back."""

    permission_required = "loyalty.manage_workflows"
    template_name = "workflows/workflow_test.html"

    def get(self, request, *args, **kwargs):
        workflow = _workflow(request, self.kwargs["pk"])
        return self.render_to_response(
            self.get_context_data(form=TestRunForm(), workflow=workflow, title=f"Test run: {workflow}")
        )

    def post(self, request, *args, **kwargs):
        workflow = _workflow(request, self.kwargs["pk"])
        form = TestRunForm(request.POST)
        result = None
        if form.is_valid():
            try:
                result = testrun.test_run(workflow, form.cleaned_data["customer"], form.cleaned_data["data"])
            except EngineError as error:
                form.add_error("customer" if error.field == "customer" else "data", error.message)
        context = self.get_context_data(
            form=form,
            workflow=workflow,
            result=result,
            title=f"Test run: {workflow}",
            graph_json=json.dumps(workflow.version.graph if workflow.version else {}),
            passed=json.dumps([s["node"] for s in result.steps] if result else []),
        )
        return self.render_to_response(context, status=200 if form.is_valid() else 400)


class RunDetailView(ModuleMixin, ConsoleView, TemplateView):
    """A run: every node passed with its outcome, the error, the route highlighted on the diagram."""

    template_name = "workflows/run_detail.html"

    def get_context_data(self, **kwargs):
        run = get_object_or_404(
            WorkflowRun.objects.select_related("workflow", "version", "customer", "trigger_event"),
            pk=self.kwargs["pk"],
            environment=self.request.environment,
        )
        steps = list(RunStep.objects.filter(run=run).select_related("event").order_by("id"))
        graph = Graph(run.version.graph)
        for step in steps:
            node = graph.nodes.get(step.node)
            step.label = REGISTRY[step.node_type].label if step.node_type in REGISTRY else step.node_type
            step.config = json.dumps(node["config"]) if node else ""
        return super().get_context_data(
            run=run,
            steps=steps,
            title=f"Run #{run.pk} of {run.workflow.name}",
            graph_json=json.dumps(run.version.graph),
            passed=json.dumps(["trigger", *[s.node for s in steps]]),
            can_manage=self.request.user.has_perm("loyalty.manage_workflows"),
            **kwargs,
        )


class RunCancelView(ModuleMixin, ConsoleView, View):
    permission_required = "loyalty.manage_workflows"

    def post(self, request, pk):
        run = get_object_or_404(WorkflowRun, pk=pk, environment=request.environment)
        if runner.cancel(run):
            messages.success(request, f"Run #{run.pk} cancelled.")
        else:
            messages.error(request, f"Run #{run.pk} is not waiting.")
        return HttpResponseRedirect(reverse("workflows:run_detail", args=[run.pk]))


class CustomerWorkflowLogsView(CustomerTabView):
    """The customer's Workflow logs tab (000): every run for the customer, newest first."""

    active_tab = "workflows:customer_workflow_logs"
    template_name = "workflows/customer_workflow_logs.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        runs = WorkflowRun.objects.filter(customer=self.object).select_related(
            "workflow", "version", "customer"
        )
        table = RunTable(runs.order_by("-id"), exclude=("customer",))
        context["table"] = self.paginate_table(table)
        return context


def runs_of_event(event: Event):
    """The workflow runs an event triggered (the event details page, 000)."""
    return WorkflowRun.objects.filter(trigger_event=event).select_related("workflow").order_by("id")


class NodeReferenceView(ModuleMixin, ConsoleView, View):
    """The node catalogue as JSON (the editor's palette and forms read it)."""

    def get(self, request):
        body = {
            name: {
                "label": n.label,
                "family": n.family,
                "outputs": list(n.outputs),
                "branches": list(n.branches),
                "schema": n.schema,
                "help": n.help,
            }
            for name, n in REGISTRY.items()
        }
        return HttpResponse(json.dumps(body), content_type="application/json")
