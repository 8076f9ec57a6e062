from django.urls import path

from . import views

app_name = "events"

urlpatterns = [
    path("definitions/", views.EventDefinitionListView.as_view(), name="definition_list"),
    path("definitions/add/", views.EventDefinitionEditView.as_view(), name="definition_add"),
    path("definitions/<int:pk>/", views.EventDefinitionEditView.as_view(), name="definition_edit"),
]
