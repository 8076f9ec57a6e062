from django.urls import re_path

from . import pending, views

urlpatterns = [
    re_path(r"^workflows/?$", views.WorkflowListView.as_view(), name="workflow_list"),
    re_path(r"^workflows/(?P<id>[^/]+)/?$", views.WorkflowDetailView.as_view(), name="workflow"),
    re_path(
        r"^workflows/(?P<id>[^/]+)/versions/?$",
        views.WorkflowVersionsView.as_view(),
        name="workflow_versions",
    ),
    re_path(r"^workflows/(?P<id>[^/]+)/runs/?$", views.WorkflowRunsView.as_view(), name="workflow_runs"),
    re_path(
        r"^workflows/(?P<id>[^/]+)/(?P<action>activate|inactivate)/?$",
        views.WorkflowStatusView.as_view(),
        name="workflow_status",
    ),
    re_path(r"^workflow-runs/(?P<id>[^/]+)/?$", views.RunDetailView.as_view(), name="workflow_run"),
    re_path(r"^pending-triggers/?$", pending.PendingTriggerListView.as_view(), name="pending_trigger_list"),
    re_path(
        r"^pending-triggers/retry-failed/?$",
        pending.PendingTriggerRetryFailedView.as_view(),
        name="pending_trigger_retry_failed",
    ),
    re_path(
        r"^pending-triggers/(?P<id>[^/]+)/retry/?$",
        pending.PendingTriggerRetryView.as_view(),
        name="pending_trigger_retry",
    ),
    re_path(
        r"^pending-triggers/(?P<id>[^/]+)/discard/?$",
        pending.PendingTriggerDiscardView.as_view(),
        name="pending_trigger_discard",
    ),
]
