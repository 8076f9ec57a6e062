"""Console URLs of segments and customer lists (Customer insights)."""

from django.urls import path

from . import views

app_name = "segments"

urlpatterns = [
    path("", views.SegmentListView.as_view(), name="segment_list"),
    path("add/", views.SegmentEditView.as_view(), name="segment_add"),
    path("preview/", views.SegmentPreviewView.as_view(), name="segment_preview"),
    path("import/", views.SegmentImportView.as_view(), name="segment_import"),
    path("<int:pk>/", views.SegmentMembersView.as_view(), name="segment_members"),
    path("<int:pk>/edit/", views.SegmentEditView.as_view(), name="segment_edit"),
    path("<int:pk>/status/", views.SegmentBuildStatusView.as_view(), name="segment_status"),
    path("<int:pk>/<str:action>/", views.SegmentActionView.as_view(), name="segment_action"),
    path("lists/", views.CustomerListListView.as_view(), name="list_list"),
    path("lists/add/", views.CustomerListEditView.as_view(), name="list_add"),
    path("lists/bulk/", views.BulkListView.as_view(), name="bulk_list"),
    path("lists/bulk/<uuid:batch_id>/", views.BulkDetailView.as_view(), name="bulk_detail"),
    path("lists/<int:pk>/", views.CustomerListDetailView.as_view(), name="list_detail"),
    path("lists/<int:pk>/edit/", views.CustomerListEditView.as_view(), name="list_edit"),
    path("lists/<int:pk>/members/add/", views.ListMemberAddView.as_view(), name="list_member_add"),
    path(
        "lists/<int:pk>/members/<int:customer_pk>/remove/",
        views.ListMemberRemoveView.as_view(),
        name="list_member_remove",
    ),
    path("lists/<int:pk>/bulk/", views.BulkCreateView.as_view(), name="list_bulk"),
    path("lists/<int:pk>/<str:action>/", views.ListStatusView.as_view(), name="list_status"),
]
