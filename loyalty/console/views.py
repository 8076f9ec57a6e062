"""The console's generic views. Every page is declared in a few lines on one of these:

- `ConsoleView`: login + permission check (`permission_required`), for any page.
- `ConsolePageView`: a `ConsoleView` that renders a template.
- `ObjectListView`: FilterSet + filter form + django-tables2 table, column chooser, sorting,
  pagination that never runs an unbounded COUNT(*) (django-tables2's LazyPaginator).
- `TabbedDetailView` and `Tab`: an object with tabs, each tab its own URL and view.
- `ObjectChildrenView`: a tab listing the object's children in a filtered, paged table.
- `ReasonActionView`: a confirmation form with a required reason that performs one action.
- `EventActionView`: a `ReasonActionView` whose action is one event registered through the engine
  (with the console user, the reason and the change log; content approval where asked).
- `ObjectEditView`: a create-or-edit form page for configuration objects (settings, labels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import EmptyPage
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import DetailView, FormView, TemplateView, UpdateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.paginators import LazyPaginator

from events.permissions import may_register
from loyalty.audit.changes import Outcome, register_change, submit_change
from loyalty.errors import EngineError
from loyalty.models import Program

from .forms import ReasonForm
from .paging import capped_counts
from .reversing import reverser

MAX_PER_PAGE = 200


def always_visible(table) -> tuple[str, ...]:
    """Columns the chooser never hides: `Meta.always_visible` on the table class."""
    return tuple(getattr(getattr(table, "Meta", None), "always_visible", ()))


# Query parameters that do not filter a list: an empty page under them is still "nothing yet".
NOT_FILTERS = frozenset({"sort", "per_page", "columns", "col", "page", "after", "before", "reset_columns"})


def empty_text(text: str | None, filtered: bool) -> str:
    """What an empty table says: its `Meta.empty_text` ("No rewards yet."), or, when filters are
    on, the same objects "match these filters" ("No rewards match these filters.")."""
    if not text:
        return "Nothing matches these filters." if filtered else "Nothing here yet."
    if filtered and text.endswith(" yet."):
        return text[: -len(" yet.")] + " match these filters."
    return text


def is_filtered(request) -> bool:
    return any(value for key, value in request.GET.items() if key not in NOT_FILTERS)


class BoundedLazyPaginator(LazyPaginator):
    """django-tables2's LazyPaginator (no COUNT(*)), refusing page numbers whose row offset the
    database cannot take: ?page=10000000000000000000 raised "datatype mismatch" (SQLite) or
    "bigint out of range" (PostgreSQL), a 500. Such a page is EmptyPage, which RequestConfig
    answers with the first page, as it answers ?page=abc. ?per_page= is held to 1..MAX_PER_PAGE
    (per_page=10000000000000000000 failed the same way). Every console table pages with it."""

    MAX_OFFSET = 10**9  # rows skipped; far beyond any list that pages by number

    def __init__(self, object_list, per_page, *args, **kwargs):
        # ?per_page= reaches a profile tab's paginator as it was typed: 1 to MAX_PER_PAGE rows.
        super().__init__(object_list, max(1, min(int(per_page), MAX_PER_PAGE)), *args, **kwargs)

    def validate_number(self, number):
        number = super().validate_number(number)
        if (number - 1) * self.per_page > self.MAX_OFFSET:
            raise EmptyPage("That page number is too large.")
        return number


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
    """A list page: set `queryset` (or get_queryset), `filterset_class`, `table_class`, `title`.

    A table may list `Meta.always_visible = ("name",)`: columns the chooser never hides.
    A request from htmx (`HX-Request`) gets only the results partial, so filtering and paging
    can swap the table in place; without JavaScript every link and form works as a full page.
    """

    template_name = "console/object_list.html"
    results_template_name = "console/includes/list_results.html"
    paginator_class = BoundedLazyPaginator
    paginate_by = 50
    title = ""
    # Extra buttons above the list: [(label, url_name, permission)]
    actions: list[tuple[str, str, str]] = []
    strict = False  # an invalid filter form shows its errors, with the unfiltered list

    def get_template_names(self):
        if self.request.headers.get("HX-Request") and not self.request.headers.get("HX-Boosted"):
            return [self.results_template_name]
        return [self.template_name]

    def paginate_queryset(self, queryset, page_size):
        # The table paginates (lazily); ListView's own paginator would run the page query twice.
        return None, None, queryset, False

    def get_table_pagination(self, table):
        paginate = super().get_table_pagination(table)
        if paginate and "per_page" in self.request.GET:
            # A per_page in the URL is honoured, within reason.
            try:
                requested = int(self.request.GET["per_page"])
            except ValueError:
                requested = self.paginate_by
            self.request.GET = self.request.GET.copy()
            self.request.GET["per_page"] = str(max(1, min(requested, MAX_PER_PAGE)))
        return paginate

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        table.empty_text = empty_text(table.empty_text, is_filtered(self.request))
        chosen = self.chosen_columns(table)
        if chosen:
            always = always_visible(table)
            for name in table.columns.names():
                if name in chosen or name in always:
                    table.columns.show(name)
                else:
                    table.columns.hide(name)
        return table

    def chosen_columns(self, table) -> list[str]:
        """`?columns=a,b` picks the columns (console.js joins the chooser's ticked boxes into it;
        without JavaScript the repeated `col` boxes arrive instead). The choice is remembered in
        the session per table; `?reset_columns=1` or an empty choice goes back to the defaults."""
        key = f"columns:{type(table).__name__}"
        params = self.request.GET
        if "reset_columns" in params:
            self.request.session.pop(key, None)
            return []
        if "col" in params:
            raw = params.getlist("col")
        elif "columns" in params:
            raw = params["columns"].split(",")
        else:
            return self.request.session.get(key, [])
        names = table.columns.names()
        chosen = [c for c in raw if c in names]
        if chosen:
            self.request.session[key] = chosen
        else:
            self.request.session.pop(key, None)
        return chosen

    def get_list_actions(self) -> list[dict]:
        """The buttons above the list the user may use."""
        return [
            {"label": label, "url": reverse(url_name)}
            for label, url_name, permission in self.actions
            if self.request.user.has_perm(permission)
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        table = context.get("table")
        context["title"] = self.title
        context["list_actions"] = self.get_list_actions()
        if table is not None:
            always = always_visible(table)
            context["column_choices"] = [
                (name, column.header, column.visible)
                for name, column in table.columns.items()
                if name not in always and column.header
            ]
        return context


@dataclass(frozen=True)
class Tab:
    """One tab of a detail page: its own URL name (taking the object's URL kwargs), label,
    permission, module, order (`weight`), and an optional count badge `badge(obj) -> int | None`.

    Badges are computed once per page for the visible tabs; keep them to cheap, indexed counts
    scoped to the one object (never a count over a whole table)."""

    label: str
    url_name: str
    permission: str = "loyalty.view_console"
    module: str | None = None
    weight: int = 100
    badge: Callable | None = None


@dataclass(frozen=True)
class CappedBadge:
    """A tab badge counting the object's rows of `model` (`field` = the object) up to `cap`
    ("99+" beyond): TabbedDetailView counts every such badge of a page in one statement
    (loyalty.console.paging.capped_counts), reading at most cap + 1 index entries each."""

    model: type
    field: str
    cap: int = 99

    def label(self, count: int, capped: bool) -> int | str | None:
        return f"{count}+" if capped else (count or None)

    def __call__(self, obj) -> int | str | None:
        ((count, capped),) = capped_counts([(self.model, self.field, obj.pk)], cap=self.cap)
        return self.label(count, capped)


@lru_cache(maxsize=32)
def _by_weight(tabs: tuple[Tab, ...]) -> tuple[Tab, ...]:
    return tuple(sorted(tabs, key=lambda tab: tab.weight))


class TabbedDetailView(ConsoleView, DetailView):
    """A detail page whose tabs are separate views. Subclasses set `tabs` (a list of Tab),
    `active_tab` (the URL name of this tab), `tab_url_kwargs(obj)` and `template_name`
    (which extends console/object_detail.html and fills `tab_content`)."""

    tabs: list[Tab] = []
    active_tab: str = ""

    def tab_url_kwargs(self, obj) -> dict:
        return {"pk": obj.pk}

    def visible_tabs(self, obj) -> list[dict]:
        """The tabs this user sees, in weight order, with their URLs (loyalty.console.reversing)
        and badges: every CappedBadge of the page counted in one statement, other badges by
        their own call."""
        program = Program.current()
        url_kwargs = self.tab_url_kwargs(obj)
        has_perm = self.request.user.has_perm
        shown = [
            tab
            for tab in _by_weight(tuple(self.tabs))
            if (not tab.module or program.module_enabled(tab.module)) and has_perm(tab.permission)
        ]
        capped = [tab.badge for tab in shown if isinstance(tab.badge, CappedBadge)]
        counted = {}
        url = reverser()
        if capped:
            caps = {badge.cap for badge in capped}
            rows = capped_counts([(b.model, b.field, obj.pk) for b in capped], cap=max(caps))
            for badge, (count, over) in zip(capped, rows, strict=True):
                if count > badge.cap:  # several caps on one page: each badge's own
                    count, over = badge.cap, True
                counted[badge] = badge.label(count, over)
        return [
            {
                "label": tab.label,
                "url": url(tab.url_name, **url_kwargs),
                "url_name": tab.url_name,
                "active": tab.url_name == self.active_tab,
                "badge": counted[tab.badge]
                if tab.badge in counted
                else (tab.badge(obj) if tab.badge else None),
            }
            for tab in shown
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tabs"] = self.visible_tabs(self.object)
        return context

    def paginate_table(self, table, per_page: int = 25):
        """Sort and page a tab's table from the request, lazily (no COUNT(*)); its empty text."""
        table.empty_text = empty_text(table.empty_text, is_filtered(self.request))
        RequestConfig(
            self.request, paginate={"per_page": per_page, "paginator_class": BoundedLazyPaginator}
        ).configure(table)
        return table


class ReasonActionView(ConsoleView, FormView):
    """Confirm an action with a required reason, perform it, show a message, redirect.

    Subclasses set `permission_required`, `title`, `confirm_text`, and implement `perform(form)`
    (which raises loyalty.errors.EngineError for refusals: shown as a form error; it may return
    the success message) and `get_success_url()`. Extra fields: subclass ReasonForm and set
    `form_class`. `cancel_url` (or get_cancel_url()) is where Cancel leads.
    """

    form_class: type[forms.Form] = ReasonForm
    template_name = "console/action_form.html"
    title = ""
    confirm_text = ""
    success_message = "Done."
    submit_label = "Confirm"
    danger = False
    cancel_url = ""

    def perform(self, form) -> str | None:
        raise ImproperlyConfigured("ReasonActionView subclasses implement perform(form).")

    def form_valid(self, form):
        try:
            message = self.perform(form)
        except EngineError as error:
            field = (error.field or "").split(".")[-1]
            form.add_error(field if field in form.fields else None, error.message)
            return self.form_invalid(form)
        messages.success(self.request, message or self.success_message)
        return HttpResponseRedirect(self.get_success_url())

    def get_cancel_url(self) -> str:
        return self.cancel_url

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            {
                "title": self.title,
                "confirm_text": self.confirm_text,
                "danger": self.danger,
                "submit_label": self.submit_label,
                "cancel_url": self.get_cancel_url(),
            }
        )
        return context


class ObjectChildrenView(TabbedDetailView):
    """A tab listing the object's children in a filtered, sorted, lazily paged table (NetBox's
    ObjectChildrenView). Subclasses set `table_class`, optionally `filterset_class`, and implement
    `get_children(obj)` (a queryset scoped to the object); `table_kwargs()` adds table arguments.

    A filter form with invalid values lists nothing and shows its errors (never silently the
    unfiltered list). Context: `filter` (the FilterSet or None) and `table`."""

    table_class: type | None = None
    filterset_class: type | None = None
    per_page = 25

    def get_children(self, obj):
        raise ImproperlyConfigured("ObjectChildrenView subclasses implement get_children(obj).")

    def table_kwargs(self) -> dict:
        return {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = self.get_children(self.object)
        filterset = None
        if self.filterset_class is not None:
            filterset = self.filterset_class(self.request.GET or None, queryset=rows)
            if filterset.is_bound:
                rows = filterset.qs if filterset.is_valid() else rows.none()
        assert self.table_class is not None, "ObjectChildrenView subclasses set table_class"
        table = self.table_class(rows, **self.table_kwargs())
        context.update(filter=filterset, table=self.paginate_table(table, self.per_page))
        return context


class EventActionView(ReasonActionView):
    """A page that registers one event with a required reason: every console "do X to this
    customer" page (profile actions, coupon and transaction actions, Add event) is declared on it.

    Subclasses set `event_action` (or override `get_event_action(form)`), `title` and
    `confirm_text`, and implement `event_customer()` (the Customer the event is for); optionally
    `event_data(form)` (the event's attributes), `event_account(form)` and `done_message(form)`.
    The event goes through `loyalty.audit.changes`: registered with source "platform", the user and
    the reason, and logged; with `approval = True` it is queued for an approver instead when the
    program's content approval asks for it. Engine refusals are shown on the form."""

    event_action = ""
    approval = False

    def registered_actions(self) -> list[str]:
        """The actions this page may register (override when it registers one of several)."""
        return [self.event_action] if self.event_action else []

    def has_permission(self) -> bool:
        """The page's own permission (`permission_required`, view_console by default) and, for
        every action it registers, `events.permissions.may_register`: the one table of who may
        register what from the console."""
        user = self.request.user
        return super().has_permission() and all(
            may_register(user, action) for action in self.registered_actions()
        )

    def get_event_action(self, form) -> str:
        return self.event_action

    def event_customer(self):
        raise ImproperlyConfigured("EventActionView subclasses implement event_customer().")

    def event_data(self, form) -> dict:
        return {}

    def event_account(self, form) -> str | None:
        return None

    def done_message(self, form) -> str:
        return f"{self.title}: done."

    def perform(self, form) -> str:
        submit = submit_change if self.approval else register_change
        outcome = submit(
            user=self.request.user,
            customer=self.event_customer(),
            action=self.get_event_action(form),
            data=self.event_data(form),
            reason=form.cleaned_data["reason"],
            account=self.event_account(form),
        )
        request = outcome.request if isinstance(outcome, Outcome) else None
        if request is not None:
            return f"Sent for approval (request #{request.pk}); it takes effect once an approver accepts it."
        return self.done_message(form)


class ObjectEditView(ConsoleView, UpdateView):
    """Create (no `pk` in the URL) or edit a configuration object with a ModelForm.

    Subclasses set `model`, `form_class`, `permission_required`, `success_url` (or
    get_success_url) and optionally `title_create` / `title_edit`. `after_save(obj)` runs
    after the form saved (for example to clear a cache). Saving happens in `save(form)`,
    which subclasses may override to wrap related writes in one transaction.
    """

    template_name = "console/object_form.html"
    title_create = ""
    title_edit = ""
    cancel_url = ""

    def get_object(self, queryset=None):
        if self.pk_url_kwarg not in self.kwargs and self.slug_url_kwarg not in self.kwargs:
            return None
        return super().get_object(queryset)

    def save(self, form):
        return form.save()

    def after_save(self, obj) -> None:
        pass

    def form_valid(self, form):
        created = self.object is None
        self.object = self.save(form)
        self.after_save(self.object)
        verb = "created" if created else "saved"
        messages.success(
            self.request, f"{self.model._meta.verbose_name.capitalize()} “{self.object}” {verb}."
        )
        return HttpResponseRedirect(self.get_success_url())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        name = self.model._meta.verbose_name
        if self.object is None:
            context["title"] = self.title_create or f"New {name}"
        else:
            context["title"] = self.title_edit or f"Edit {name} “{self.object}”"
        context["cancel_url"] = self.cancel_url or str(self.success_url or "")
        return context
