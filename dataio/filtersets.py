import django_filters

from .models import DataExport, DataImport, Job


class JobFilterSet(django_filters.FilterSet):
    class Meta:
        model = Job
        fields = ["kind", "status"]


class ImportFilterSet(django_filters.FilterSet):
    class Meta:
        model = DataImport
        fields = ["model", "status"]


class ExportFilterSet(django_filters.FilterSet):
    class Meta:
        model = DataExport
        fields = ["model", "status", "format"]
