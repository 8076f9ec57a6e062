"""The console's generic views. Every page is declared in a few lines on one of these:

- `ConsoleView`: login + permission check (`permission_required`), for any page.
- `ObjectListView`: FilterSet + filter form + django-tables2 table, column chooser, sorting,
  pagination that never runs an unbounded COUNT(*) (django-tables2's LazyPaginator).
- `TabbedDetailView` and `Tab`: an object with tabs, each tab its own URL and view.
- `ReasonActionView`: a confirmation form with a required reason that performs one action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import DetailView, FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.paginators import LazyPaginator

from loyalty.models import Program

from .forms import ReasonForm


class ConsoleView(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous users go to the login page; signed-in users without the permission get 403."""

    permission_required = "loyalty.view_console"
    raise_exception = False

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            self.raise_exception = True
        return super().handle_no_permission()


class ConsolePageView(ConsoleView, TemplateView):
    pass


class ObjectListView(ConsoleView, SingleTableMixin, FilterView):
    """A list page: set `queryset` (or get_queryset), `filterset_class`, `table_class`, `title`."""

    template_name = "console/object_list.html"
    paginator_class = LazyPaginator
    paginate_by = 50
    title = ""
    # Extra buttons above the list: [(label, url_name, permission)]
    actions: list[tuple[str, str, str]] = []
    strict = False  # an invalid filter form shows its errors, with the unfiltered list

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        chosen = self.chosen_columns(table)
        if chosen:
            for name, column in table.columns.items():
                if name not in chosen and name not in getattr(table.Meta, "always_visible", ()):
                    table.columns.hide(name)
        return table

    def chosen_columns(self, table) -> list[str]:
        """`?columns=a,b` picks the columns; the choice is remembered in the session per table."""
        key = f"columns:{type(table).__name__}"
        raw = self.request.GET.get("columns")
        if raw is not None:
            chosen = [c for c in raw.split(",") if c in table.columns.names()]
            self.request.session[key] = chosen
            return chosen
        return self.request.session.get(key, [])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        table = context.get("table")
        context["title"] = self.title
        context["list_actions"] = [
            {"label": label, "url": reverse(url_name)}
            for label, url_name, perm in self.actions
            if self.request.user.has_perm(perm)
        ]
        if table is not None:
            context["column_choices"] = [
                (name, column.header, column.visible)
                for name, column in table.columns.items()
                if name not in getattr(table.Meta, "always_visible", ())
            ]
        return context


@dataclass(frozen=True)
class Tab:
    """One tab of a detail page: its own URL name (taking the object's URL kwargs), label,
    permission, module, order, and an optional count badge `badge(obj) -> int | None`."""

    label: str
    url_name: str
    permission: str = "loyalty.view_console"
    module: str | None = None
    weight: int = 100
    badge: Callable | None = None


class TabbedDetailView(ConsoleView, DetailView):
    """A detail page whose tabs are separate views. Subclasses set `tabs` (a list of Tab),
    `tab_url_kwargs(obj)` and `template_name` (which extends console/object_detail.html)."""

    tabs: list[Tab] = []
    active_tab: str = ""

    def tab_url_kwargs(self, obj) -> dict:
        return {"pk": obj.pk}

    def visible_tabs(self, obj) -> list[dict]:
        program = Program.current()
        tabs = []
        for tab in sorted(self.tabs, key=lambda t: t.weight):
            if tab.module and not program.module_enabled(tab.module):
                continue
            if not self.request.user.has_perm(tab.permission):
                continue
            tabs.append(
                {
                    "label": tab.label,
                    "url": reverse(tab.url_name, kwargs=self.tab_url_kwargs(obj)),
                    "active": tab.url_name == self.active_tab,
                    # Only the active tab's badge is cheap to compute here; others are lazy callables.
                    "badge": (lambda t=tab: t.badge(obj)) if tab.badge else None,
                }
            )
        return tabs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tabs"] = self.visible_tabs(self.object)
        return context

    def paginate_table(self, table, per_page: int = 25):
        RequestConfig(self.request, paginate={"per_page": per_page, "paginator_class": LazyPaginator}).configure(
            table
        )
        return table


class ReasonActionView(ConsoleView, FormView):
    """Confirm an action with a required reason, perform it, show a message, redirect.

    Subclasses set `permission_required`, `title`, `confirm_text`, and implement `perform(form)`
    (which raises events.errors.EngineError for refusals: shown as a form error) and
    `get_success_url()`. Extra fields: subclass ReasonForm and set `form_class`.
    """

    form_class = ReasonForm
    template_name = "console/action_form.html"
    title = ""
    confirm_text = ""
    success_message = "Done."
    danger = False

    def perform(self, form) -> str | None:
        raise ImproperlyConfigured("ReasonActionView subclasses implement perform(form).")

    def form_valid(self, form):
        from events.errors import EngineError

        try:
            message = self.perform(form)
        except EngineError as error:
            form.add_error(error.field.split(".")[-1] if error.field and error.field.split(".")[-1] in form.fields else None, error.message)
            return self.form_invalid(form)
        messages.success(self.request, message or self.success_message)
        return HttpResponseRedirect(self.get_success_url())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update({"title": self.title, "confirm_text": self.confirm_text, "danger": self.danger})
        return context
