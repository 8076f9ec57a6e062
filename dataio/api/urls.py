from django.urls import re_path

from . import views

ID = r"(?P<pk>[^/]+)"

urlpatterns = [
    re_path(r"^imports/?$", views.ImportCreateView.as_view(), name="imports"),
    re_path(rf"^imports/{ID}/?$", views.ImportDetailView.as_view(), name="import"),
    re_path(rf"^imports/{ID}/errors/?$", views.ImportErrorsView.as_view(), name="import_errors"),
    re_path(
        rf"^imports/{ID}/(?P<action>start|cancel)/?$", views.ImportActionView.as_view(), name="import_action"
    ),
    re_path(r"^exports/?$", views.ExportCreateView.as_view(), name="exports"),
    re_path(rf"^exports/{ID}/?$", views.ExportDetailView.as_view(), name="export"),
    re_path(rf"^exports/{ID}/cancel/?$", views.ExportCancelView.as_view(), name="export_cancel"),
    re_path(rf"^exports/{ID}/download/?$", views.ExportDownloadView.as_view(), name="export_download"),
]
