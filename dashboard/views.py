"""The console home page: the dashboard (figures from dashboard.figures) and each chart as CSV."""

import csv
import datetime as dt

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from dashboard.figures import dashboard_figures
from dashboard.forms import PRESETS, DateRangeForm, default_range
from dashboard.models import RollupState
from loyalty import clock
from loyalty.console.views import ConsolePageView
from loyalty.models import Program


class DashboardView(ConsolePageView):
    """GET ?start=YYYY-MM-DD&end=YYYY-MM-DD (default: the last 30 days); &csv=<chart id> downloads
    that chart's numbers. An invalid range shows its errors over the default range."""

    template_name = "dashboard/home.html"

    def today(self) -> dt.date:
        return clock.now(self.request.environment).astimezone(clock.zone()).date()

    def date_range(self):
        today = self.today()
        start, end = default_range(today)
        form = DateRangeForm(self.request.GET if "start" in self.request.GET else None)
        if form.is_bound and form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        elif not form.is_bound:
            form = DateRangeForm(initial={"start": start, "end": end})
        return form, start, end

    def get(self, request, *args, **kwargs):
        if not Program.current().dashboard:
            # The Dashboard module is off: its figures and downloads are not served (404, as
            # every switched-off module's pages); the bare home address, where sign-in lands,
            # opens the customer list instead.
            if request.GET:
                raise Http404("The dashboard module is off.")
            return HttpResponseRedirect(reverse("customers:customer_list"))
        chart_id = request.GET.get("csv")
        if chart_id is None:
            return super().get(request, *args, **kwargs)
        _, start, end = self.date_range()
        figures = dashboard_figures(request.environment, start, end)
        chart = next((c for c in figures["charts"] if c.id == chart_id), None)
        if chart is None:
            raise Http404("No such chart.")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"{chart.id}-{request.environment}-{start.isoformat()}-{end.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.writer(response)
        writer.writerow(chart.header())
        writer.writerows(chart.rows())
        return response

    def get_context_data(self, **kwargs):
        form, start, end = self.date_range()
        figures = dashboard_figures(self.request.environment, start, end)
        today = self.today()
        query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
        presets = []
        for days in PRESETS:
            first, last = default_range(today, days)
            presets.append(
                (f"Last {days} days", urlencode({"start": first.isoformat(), "end": last.isoformat()}))
            )
        return {
            **super().get_context_data(**kwargs),
            "title": "Dashboard",
            "form": form,
            "start": start,
            "end": end,
            "query": query,
            "presets": presets,
            "state": RollupState.objects.filter(pk=1).first(),
            **figures,
        }
