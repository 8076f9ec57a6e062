import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from .models import Achievement


class AchievementTable(tables.Table):
    title = tables.Column(orderable=False)
    api_name = tables.Column(verbose_name="API name", attrs={"td": {"class": "mono"}}, orderable=False)
    campaign = tables.Column(orderable=False)
    counts = tables.Column(orderable=False)
    target = tables.Column(attrs={"td": {"class": "num"}}, orderable=False)
    active = tables.BooleanColumn(orderable=False)
    edit = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = Achievement
        empty_text = "No achievements yet."
        fields = ()
        sequence = ("title", "api_name", "campaign", "counts", "target", "active", "edit")
        attrs = {"data-testid": "achievements-table"}

    def render_edit(self, record):
        url = reverse("achievements:achievement_edit", args=[record.pk])
        return format_html('<a class="button secondary small" href="{}">Edit</a>', url)
