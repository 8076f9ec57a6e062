"""Workflows in the integration API (signed like the rest of /api/), in the key's environment.

- ``GET /api/workflows`` (``?status=active|inactive``, keyset ``limit``/``after``) and
  ``GET /api/workflows/{id}`` (with the current version's graph);
- ``GET /api/workflows/{id}/versions``; ``GET /api/workflows/{id}/runs`` (``?status=``, keyset);
- ``GET /api/workflow-runs/{id}``: a run with every step (node, branch, output, detail, error, event);
- ``POST /api/workflows/{id}/activate`` and ``/inactivate`` (scope ``entities``): 422 with the
  graph's errors when the workflow cannot run.

Reads need ``customers:read``. Errors are the usual envelope (EngineError codes, field named).
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api import paging, schema
from loyalty.api.models import Scope
from loyalty.api.views import ApiView
from loyalty.audit import log as audit
from loyalty.bounds import is_digits
from loyalty.errors import BusinessRuleError, NotFound, ValidationError

from .. import editing
from ..choices import RunStatus, WorkflowStatus
from ..graph import InvalidGraph
from ..models import RunStep, Workflow, WorkflowRun

ID = OpenApiParameter("id", int, OpenApiParameter.PATH)
_S = serializers
_WORKFLOW_FIELDS = {
    "id": _S.IntegerField(),
    "name": _S.CharField(),
    "status": _S.CharField(),
    "type": _S.CharField(),
    "campaign": _S.IntegerField(allow_null=True),
    "priority": _S.IntegerField(),
    "trigger": _S.CharField(),
    "event_type": _S.CharField(allow_null=True),
    "version": _S.IntegerField(allow_null=True),
    "updated_at": _S.IntegerField(allow_null=True),
}
WORKFLOW = inline_serializer("Workflow", _WORKFLOW_FIELDS)
WORKFLOW_DETAIL = inline_serializer(
    "WorkflowDetail",
    {**_WORKFLOW_FIELDS, "description": _S.CharField(), "graph": _S.JSONField(allow_null=True)},
)
WORKFLOW_LIST = inline_serializer(
    "WorkflowList",
    {
        "workflows": inline_serializer("WorkflowItem", _WORKFLOW_FIELDS, many=True),
        "next": _S.CharField(allow_null=True),
    },
)
VERSIONS = inline_serializer(
    "WorkflowVersions",
    {
        "versions": inline_serializer(
            "WorkflowVersion",
            {
                "number": _S.IntegerField(),
                "created_at": _S.IntegerField(allow_null=True),
                "graph": _S.JSONField(),
            },
            many=True,
        ),
        "next": _S.CharField(allow_null=True),
    },
)
_RUN_FIELDS = {
    "id": _S.IntegerField(),
    "workflow": _S.IntegerField(),
    "version": _S.IntegerField(),
    "status": _S.CharField(),
    "customer": _S.CharField(allow_null=True),
    "trigger": _S.CharField(),
    "event": _S.IntegerField(allow_null=True),
    "started_at": _S.IntegerField(allow_null=True),
    "finished_at": _S.IntegerField(allow_null=True),
    "duration_ms": _S.IntegerField(allow_null=True),
    "resume_at": _S.IntegerField(allow_null=True),
    "error": _S.CharField(allow_null=True),
}
RUN_LIST = inline_serializer(
    "WorkflowRunList",
    {
        "runs": inline_serializer("WorkflowRunItem", _RUN_FIELDS, many=True),
        "next": _S.CharField(allow_null=True),
    },
)
RUN_DETAIL = inline_serializer(
    "WorkflowRunDetail",
    {
        **_RUN_FIELDS,
        "vars": _S.JSONField(),
        "steps": inline_serializer(
            "WorkflowRunStep",
            {
                "node": _S.CharField(),
                "type": _S.CharField(),
                "branch": _S.CharField(),
                "output": _S.CharField(allow_null=True),
                "detail": _S.JSONField(),
                "error": _S.CharField(allow_null=True),
                "event": _S.IntegerField(allow_null=True),
                "idempotency_key": _S.CharField(allow_null=True),
            },
            many=True,
        ),
    },
)


def _unix(moment) -> int | None:
    return int(moment.timestamp()) if moment else None


def workflow_object(workflow: Workflow, *, full: bool = False) -> dict:
    data = {
        "id": workflow.pk,
        "name": workflow.name,
        "status": workflow.status,
        "type": "campaign" if workflow.campaign_id else "general",
        "campaign": workflow.campaign_id,
        "priority": workflow.priority,
        "trigger": workflow.trigger_type,
        "event_type": workflow.trigger_action or None,
        "version": workflow.version.number if workflow.version else None,
        "updated_at": _unix(workflow.updated_at),
    }
    if full:
        data["description"] = workflow.description
        data["graph"] = workflow.version.graph if workflow.version else None
    return data


def run_object(run: WorkflowRun, *, steps: bool = False) -> dict:
    data = {
        "id": run.pk,
        "workflow": run.workflow_id,
        "version": run.version.number,
        "status": run.status,
        "customer": run.customer.customer_id if run.customer_id and run.customer else None,
        "trigger": run.trigger,
        "event": run.trigger_event_id,
        "started_at": _unix(run.started_at),
        "finished_at": _unix(run.finished_at),
        "duration_ms": run.duration_ms,
        "resume_at": _unix(run.resume_at),
        "error": run.error or None,
    }
    if steps:
        data["vars"] = run.vars
        data["steps"] = [
            {
                "node": step.node,
                "type": step.node_type,
                "branch": step.branch,
                "output": step.output or None,
                "detail": step.detail,
                "error": step.error or None,
                "event": step.event_id,
                "idempotency_key": step.idempotency_key if step.event_id else None,
            }
            for step in RunStep.objects.filter(run=run).select_related("run").order_by("id")
        ]
    return data


def _workflow(request, id) -> Workflow:
    if not is_digits(id):
        raise NotFound(f"No workflow {id!r}.", field="id")
    workflow = (
        Workflow.objects.filter(pk=int(id), environment=request.auth.environment)
        .select_related("version")
        .first()
    )
    if workflow is None:
        raise NotFound(f"No workflow {id!r}.", field="id")
    return workflow


def _page(request, qs, render):
    limit = paging.page_limit(request.query_params)
    cursor = paging.decode_cursor(request.query_params, 1)
    if cursor is not None:
        qs = qs.filter(id__gt=paging.cursor_id(cursor[0]))  # a forged 10**30, -5 or true: 400
    rows, next_cursor = paging.page(list(qs.order_by("id")[: limit + 1]), limit, lambda row: (row.pk,))
    return [render(row) for row in rows], next_cursor


def _status(request, choices) -> str | None:
    status = request.query_params.get("status")
    if status and status not in choices:
        raise ValidationError(f"'status' must be one of {', '.join(choices)}.", field="status")
    return status


class WorkflowListView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="workflow_list",
        summary="Workflows of the key's environment, keyset-paged",
        parameters=[OpenApiParameter("status", str, enum=WorkflowStatus.values), *schema.PAGE_PARAMETERS],
        responses=schema.reads(WORKFLOW_LIST),
        tags=["workflows"],
    )
    def get(self, request):
        qs = Workflow.objects.filter(environment=request.auth.environment).select_related("version")
        status = _status(request, WorkflowStatus.values)
        if status:
            qs = qs.filter(status=status)
        rows, next_cursor = _page(request, qs, workflow_object)
        return Response({"workflows": rows, "next": next_cursor})


class WorkflowDetailView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="workflow_read",
        summary="One workflow with its current graph",
        parameters=[ID],
        responses=schema.reads(WORKFLOW_DETAIL),
        tags=["workflows"],
    )
    def get(self, request, id):
        return Response(workflow_object(_workflow(request, id), full=True))


class WorkflowVersionsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="workflow_versions",
        summary="Every version of a workflow's graph, newest first, keyset-paged",
        parameters=[ID, *schema.PAGE_PARAMETERS],
        responses=schema.reads(VERSIONS),
        tags=["workflows"],
    )
    def get(self, request, id):
        workflow = _workflow(request, id)
        # Paged (the newest 100 were answered and the older ones left out without a word).
        limit, cursor = paging.page_limit(request.query_params), paging.decode_cursor(request.query_params, 1)
        qs = workflow.versions.order_by("-number")
        if cursor is not None:
            qs = qs.filter(number__lt=paging.cursor_id(cursor[0]))
        rows, next_cursor = paging.page(list(qs[: limit + 1]), limit, lambda v: (v.number,))
        versions = [{"number": v.number, "created_at": _unix(v.created_at), "graph": v.graph} for v in rows]
        return Response({"versions": versions, "next": next_cursor})


class WorkflowRunsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="workflow_runs",
        summary="A workflow's runs (its log), keyset-paged",
        parameters=[ID, OpenApiParameter("status", str, enum=RunStatus.values), *schema.PAGE_PARAMETERS],
        responses=schema.reads(RUN_LIST),
        tags=["workflows"],
    )
    def get(self, request, id):
        workflow = _workflow(request, id)
        qs = WorkflowRun.objects.filter(workflow=workflow).select_related("version", "customer")
        status = _status(request, RunStatus.values)
        if status:
            qs = qs.filter(status=status)
        rows, next_cursor = _page(request, qs, run_object)
        return Response({"runs": rows, "next": next_cursor})


class RunDetailView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="workflow_run_read",
        summary="One run with its steps",
        parameters=[ID],
        responses=schema.reads(RUN_DETAIL),
        tags=["workflows"],
    )
    def get(self, request, id):
        run = (
            WorkflowRun.objects.filter(
                pk=int(id) if is_digits(id) else -1, environment=request.auth.environment
            )
            .select_related("version", "customer")
            .first()
        )
        if run is None:
            raise NotFound(f"No workflow run {id!r}.", field="id")
        return Response(run_object(run, steps=True))


class WorkflowStatusView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="workflow_status",
        summary="Activate or inactivate a workflow",
        parameters=[
            ID,
            OpenApiParameter("action", str, OpenApiParameter.PATH, enum=["activate", "inactivate"]),
        ],
        request=None,
        responses=schema.writes(WORKFLOW_DETAIL),
        tags=["workflows"],
    )
    def post(self, request, id, action):
        workflow = _workflow(request, id)
        try:
            with transaction.atomic():  # in the change log like the console's buttons (it had no trace)
                editing.set_status(workflow, action == "activate")
                audit.record(
                    user=None,
                    action=f"workflow_{action}",
                    environment=request.auth.environment,
                    object_repr=f"workflow {workflow.pk} {workflow.name} (API key {request.auth.name})"[:200],
                    before={},
                    after={"status": workflow.status},
                )
        except InvalidGraph as invalid:
            raise BusinessRuleError(f"The workflow cannot run: {invalid}", field="graph") from None
        return Response(workflow_object(workflow, full=True))
