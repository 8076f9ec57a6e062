from django.urls import path

from . import views

app_name = "dataio"

urlpatterns = [
    path("jobs/", views.JobListView.as_view(), name="job_list"),
    path("jobs/<int:pk>/cancel/", views.JobCancelView.as_view(), name="job_cancel"),
    path("imports/", views.ImportListView.as_view(), name="import_list"),
    path("imports/new/", views.ImportCreateView.as_view(), name="import_add"),
    path("imports/template/", views.ImportTemplateView.as_view(), name="import_template"),
    path("imports/<int:pk>/", views.ImportDetailView.as_view(), name="import_detail"),
    path("imports/<int:pk>/progress/", views.ImportProgressView.as_view(), name="import_progress"),
    path("imports/<int:pk>/errors.csv", views.ImportErrorFileView.as_view(), name="import_errors"),
    path("imports/<int:pk>/<str:action>/", views.ImportActionView.as_view(), name="import_action"),
    path("exports/", views.ExportListView.as_view(), name="export_list"),
    path("exports/new/", views.ExportCreateView.as_view(), name="export_add"),
    path("exports/<int:pk>/", views.ExportDetailView.as_view(), name="export_detail"),
    path("exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="export_download"),
]
