"""The custom field definitions (Settings → Custom fields): list and edit, in the settings area."""

from django.urls import reverse_lazy

from customers.filtersets import CustomFieldFilterSet
from customers.forms import CustomFieldForm
from customers.models import CustomField
from customers.tables import CustomFieldTable
from loyalty.console.views import ObjectListView
from loyalty.program_settings.views import PERMISSION, SettingsEditView, SettingsMixin


class CustomFieldListView(SettingsMixin, ObjectListView):
    template_name = "settings/object_list.html"
    queryset = CustomField.objects.all()
    filterset_class = CustomFieldFilterSet
    table_class = CustomFieldTable
    title = "Custom fields"
    section = "customers:custom_field_list"
    actions = [("New custom field", "customers:custom_field_add", PERMISSION)]


class CustomFieldEditView(SettingsEditView):
    model = CustomField
    form_class = CustomFieldForm
    success_url = reverse_lazy("customers:custom_field_list")
    section = "customers:custom_field_list"
