"""The settings area (administrators, `loyalty.manage_settings`): program, point accounts, tier
structures with their tiers, custom fields. Each page is a few lines on the console's generic views.
"""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.views.generic import FormView

from loyalty.audit.log import record
from loyalty.console.views import ConsoleView, ObjectEditView, ObjectListView
from loyalty.models import PointAccount, Program, TierStructure

from .filtersets import PointAccountFilterSet, TierStructureFilterSet
from .forms import (
    PointAccountForm,
    ProgramSettingsForm,
    TierFormSet,
    TierStructureForm,
)
from .tables import PointAccountTable, TierStructureTable

PERMISSION = "loyalty.manage_settings"

# The settings area's own menu: (label, URL name, permission, module or None). Another feature adds
# its settings page with one line here; every URL name must resolve (tests/architecture checks it).
# A section of a switchable module shows only while the module is on (its pages answer 404 when off).
SECTIONS = [
    ("Program", "settings:program", PERMISSION, None),
    ("Point accounts", "settings:account_list", PERMISSION, None),
    ("Tiers", "settings:tier_structure_list", PERMISSION, None),
    ("Custom fields", "customers:custom_field_list", PERMISSION, None),
    ("Events", "events:definition_list", PERMISSION, None),
    ("API keys", "api_keys:api_key_list", "loyalty.manage_api_keys", None),
    ("Trusted sites", "webhooks:site_list", PERMISSION, "webhooks"),
    ("Webhooks", "webhooks:subscription_list", PERMISSION, "webhooks"),
    ("Incoming webhooks", "webhooks:incoming_list", PERMISSION, "incoming_webhooks"),
]


def _plain(value):
    """A form value as the change log stores it (model instances and querysets as names)."""
    if isinstance(value, QuerySet | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Model):
        return str(value)
    return value


class SettingsMixin:
    """Permission, the settings menu and the change log for every page of the area."""

    permission_required = PERMISSION
    section = ""
    request: Any  # set by the view; carries `environment` (ConsoleEnvironmentMiddleware)

    def log_change(self, form, obj, *, created: bool) -> None:
        """Append the changed fields to the change log; call inside the saving transaction."""
        if not form.changed_data and not created:
            return
        name = obj._meta.model_name
        record(
            user=self.request.user,
            action=f"settings_{name}_{'create' if created else 'change'}",
            environment=self.request.environment,
            object_repr=f"{obj._meta.verbose_name}: {obj}",
            before={} if created else {f: _plain(form.initial.get(f)) for f in form.changed_data},
            after={f: _plain(form.cleaned_data.get(f)) for f in form.changed_data},
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sections = []
        program = Program.current()
        for label, url_name, permission, module in SECTIONS:
            if module and not program.module_enabled(module):
                continue
            if self.request.user.has_perm(permission):
                url = reverse(url_name)
                sections.append({"label": label, "url": url, "active": url_name == self.section})
        context["settings_sections"] = sections
        return context


class SettingsEditView(SettingsMixin, ObjectEditView):
    """Create or edit one settings object: save and log the change in one transaction."""

    template_name = "settings/object_form.html"

    def save(self, form):
        created = form.instance.pk is None
        with transaction.atomic():
            obj = form.save()  # model save() methods clear their caches
            self.log_change(form, obj, created=created)
        return obj


class ProgramSettingsView(SettingsMixin, ConsoleView, FormView):
    form_class = ProgramSettingsForm
    template_name = "settings/program.html"
    section = "settings:program"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        # The cached program is a copy; edit the stored row.
        kwargs["instance"] = Program.objects.get(pk=Program.current().pk)
        return kwargs

    def form_valid(self, form):
        with transaction.atomic():
            program = form.save()  # Program.save() clears its cache
            self.log_change(form, program, created=False)
        messages.success(self.request, "Program settings saved.")
        return HttpResponseRedirect(reverse("settings:program"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = "Program settings"
        return context


class PointAccountListView(SettingsMixin, ObjectListView):
    template_name = "settings/object_list.html"
    queryset = PointAccount.objects.filter(owner__isnull=True)  # not customers' subledgers
    filterset_class = PointAccountFilterSet
    table_class = PointAccountTable
    title = "Point accounts"
    section = "settings:account_list"
    actions = [("New account", "settings:account_add", PERMISSION)]


class PointAccountEditView(SettingsEditView):
    model = PointAccount
    form_class = PointAccountForm
    success_url = reverse_lazy("settings:account_list")
    section = "settings:account_list"


class TierStructureListView(SettingsMixin, ObjectListView):
    template_name = "settings/object_list.html"
    queryset = TierStructure.objects.prefetch_related("tiers")
    filterset_class = TierStructureFilterSet
    table_class = TierStructureTable
    title = "Tier structures"
    section = "settings:tier_structure_list"
    actions = [("New tier structure", "settings:tier_structure_add", PERMISSION)]


class TierStructureEditView(SettingsEditView):
    """The structure and its tiers on one page (an inline formset), saved together."""

    model = TierStructure
    form_class = TierStructureForm
    template_name = "settings/tier_structure_form.html"
    success_url = reverse_lazy("settings:tier_structure_list")
    section = "settings:tier_structure_list"

    def get_formset(self):
        data = self.request.POST if self.request.method == "POST" else None
        return TierFormSet(data, instance=self.object or TierStructure(), prefix="tiers")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("tiers", self.get_formset())
        return context

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = self.get_form()
        tiers = self.get_formset()
        if form.is_valid() and tiers.is_valid():
            return self.form_valid(form, tiers)
        return self.render_to_response(self.get_context_data(form=form, tiers=tiers))

    def form_valid(self, form, tiers=None):
        self.tiers = tiers
        return super().form_valid(form)

    def save(self, form):
        created = form.instance.pk is None
        with transaction.atomic():
            structure = form.save()
            self.tiers.instance = structure
            self.tiers.save()
            self.log_change(form, structure, created=created)
            if self.tiers.has_changed():
                tiers = [f"{t.code}:{t.threshold}" for t in structure.tiers.all()]
                record(
                    user=self.request.user,
                    action="settings_tiers_change",
                    environment=self.request.environment,
                    object_repr=f"tier structure: {structure}",
                    after={"tiers": tiers},
                )
        return structure
