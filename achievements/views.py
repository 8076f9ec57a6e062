"""Achievements console: definitions (list, create, edit; locked once progress exists) and 003's
Achievements tab (name, API name, campaign, progress, target, status, start, end, completed on)."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse_lazy

from customers.views.base import CustomerTabView
from loyalty import clock
from loyalty.console.views import ObjectEditView, ObjectListView
from loyalty.models import Program

from .filtersets import AchievementFilterSet
from .forms import AchievementForm
from .models import Achievement
from .progress import customer_rows
from .tables import AchievementTable

TAB = "achievements:customer_achievements"


class ModuleRequired:
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Program.current().achievements:
            raise Http404("The achievements module is off.")
        return super().dispatch(request, *args, **kwargs)


class AchievementListView(ModuleRequired, ObjectListView):
    title = "Achievements"
    filterset_class = AchievementFilterSet
    table_class = AchievementTable
    queryset = Achievement.objects.order_by("title")
    actions = [("New achievement", "achievements:achievement_add", "loyalty.manage_catalog")]


class AchievementEditView(ModuleRequired, ObjectEditView):
    model = Achievement
    form_class = AchievementForm
    permission_required = "loyalty.manage_catalog"
    success_url = reverse_lazy("achievements:achievement_list")


class CustomerAchievementsView(CustomerTabView):
    active_tab = TAB
    template_name = "achievements/customer_achievements.html"

    def get(self, request, *args, **kwargs):
        if not Program.current().achievements:
            raise Http404("The achievements module is off.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = customer_rows(self.object, clock.now())
        return context
