"""Console URLs of workflows and campaigns."""

from django.urls import path

from . import pending_views, views

app_name = "workflows"

urlpatterns = [
    path("workflows/", views.WorkflowListView.as_view(), name="workflow_list"),
    path("workflows/add/", views.WorkflowEditView.as_view(), name="workflow_add"),
    path("workflows/import/", views.WorkflowImportView.as_view(), name="workflow_import"),
    path("workflows/node-form/", views.NodeFormView.as_view(), name="node_form"),
    path("workflows/nodes.json", views.NodeReferenceView.as_view(), name="node_reference"),
    path("workflows/campaigns/", views.CampaignListView.as_view(), name="campaign_list"),
    path("workflows/campaigns/add/", views.CampaignEditView.as_view(), name="campaign_add"),
    path("workflows/campaigns/<int:pk>/", views.CampaignEditView.as_view(), name="campaign_edit"),
    path("workflows/pending/", pending_views.PendingTriggerListView.as_view(), name="pending_list"),
    path(
        "workflows/pending/retry-failed/",
        pending_views.PendingRetryFailedView.as_view(),
        name="pending_retry_failed",
    ),
    path("workflows/pending/<int:pk>/retry/", pending_views.PendingRetryView.as_view(), name="pending_retry"),
    path(
        "workflows/pending/<int:pk>/discard/",
        pending_views.PendingDiscardView.as_view(),
        name="pending_discard",
    ),
    path("workflows/runs/<int:pk>/", views.RunDetailView.as_view(), name="run_detail"),
    path("workflows/runs/<int:pk>/cancel/", views.RunCancelView.as_view(), name="run_cancel"),
    path("workflows/<int:pk>/", views.WorkflowRunsView.as_view(), name="workflow_detail"),
    path(
        "workflows/<int:pk>/running/", views.WorkflowRunsView.as_view(waiting=True), name="workflow_waiting"
    ),
    path("workflows/<int:pk>/edit/", views.WorkflowEditView.as_view(), name="workflow_edit"),
    path("workflows/<int:pk>/export/", views.WorkflowExportView.as_view(), name="workflow_export"),
    path("workflows/<int:pk>/test/", views.WorkflowTestView.as_view(), name="workflow_test"),
    path("workflows/<int:pk>/<str:action>/", views.WorkflowStatusView.as_view(), name="workflow_status"),
    path(
        "customers/<str:ref>/workflow-logs/",
        views.CustomerWorkflowLogsView.as_view(),
        name="customer_workflow_logs",
    ),
]
