from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.ChangeListView.as_view(), name="change_list"),
    path("requests/", views.ChangeRequestListView.as_view(), name="request_list"),
    path("requests/<int:pk>/accept/", views.AcceptRequestView.as_view(), name="request_accept"),
    path("requests/<int:pk>/reject/", views.RejectRequestView.as_view(), name="request_reject"),
]
