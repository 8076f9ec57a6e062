"""Opt-out and merge hooks (customers.hooks PERSONAL_DATA_SCRUBBERS and CUSTOMER_MERGERS).

A run's variables, its steps' details and errors and its trigger text may hold values rendered
from the customer (a templated reason, a Modify customer's values, an Interrupt message): on
opt-out they are cleared for the customer's runs, and any other run (an interrupted opt-in stored
without a customer) that mentions one of the customer's values gets it replaced, as does an
outbox row not walked yet (its modifier branches' logs: workflows.outbox). A merge moves
the source's runs and campaign bonus points to the target (its per-customer cap counts both).
"""

from __future__ import annotations

import json

from django.db.models import F

from .models import CampaignParticipant, PendingTrigger, RunStep, WorkflowRun

SCRUBBED = "[anonymized]"


def _scrub_text(text: str, values: set[str]) -> str:
    for value in values:
        if value and value in text:
            text = text.replace(value, SCRUBBED)
    return text


def scrub_customer(customer, original: dict) -> None:
    values = {v for v in original.get("values", []) if isinstance(v, str) and len(v) >= 3}
    runs = WorkflowRun.objects.filter(customer=customer)
    runs.update(vars={}, error="")
    RunStep.objects.filter(run__customer=customer).update(detail={}, error="")
    if not values:
        return
    for row in PendingTrigger.objects.filter(environment=customer.environment):  # a few rows at most
        text = json.dumps(row.modifier_logs)
        if any(value in text for value in values):
            row.modifier_logs = json.loads(_scrub_text(text, values))
            row.save(update_fields=["modifier_logs"])
    # Interrupted opt-ins are stored without a customer: search their texts for the values.
    for run in WorkflowRun.objects.filter(customer__isnull=True, environment=customer.environment):
        steps = list(run.steps.values_list("detail", "error"))
        text = json.dumps([run.trigger, run.vars, run.error, steps])
        if any(value in text for value in values):
            run.vars, run.error = {}, _scrub_text(run.error, values)
            run.trigger = _scrub_text(run.trigger, values)
            run.save(update_fields=["vars", "error", "trigger"])
            for step in run.steps.all():
                step.detail = json.loads(_scrub_text(json.dumps(step.detail), values))
                step.error = _scrub_text(step.error, values)
                step.save(update_fields=["detail", "error"])


def merge_customer(source, target) -> None:
    WorkflowRun.objects.filter(customer=source).update(customer=target)
    for row in CampaignParticipant.objects.filter(customer=source):
        updated = CampaignParticipant.objects.filter(campaign=row.campaign_id, customer=target).update(
            points=F("points") + row.points
        )
        if updated:
            row.delete()
        else:
            row.customer = target
            row.save(update_fields=["customer"])
