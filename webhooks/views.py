"""Console pages of the webhooks: Settings → Trusted sites, Webhooks (subscriptions, the log, the
dead-letter list with replay, settings), Incoming webhooks (endpoints, their log); the profile's
Sync tab and Resync. Administrators (`loyalty.manage_settings`) manage them; the Sync tab is a
profile tab like the others."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.views import View
from django.views.generic import DetailView, TemplateView

from customers.views.actions import CustomerActionView
from customers.views.base import CustomerTabView
from loyalty.audit import log as audit
from loyalty.bounds import is_digits
from loyalty.console.views import ConsoleView, ObjectListView
from loyalty.models import Program
from loyalty.program_settings.views import SettingsEditView, SettingsMixin

from . import blueprints, delivery, secrets
from .choices import AuthMethod, DeliveryStatus, IncomingAuth
from .filtersets import (
    DeliveryFilterSet,
    IncomingEndpointFilterSet,
    IncomingRequestFilterSet,
    SubscriptionFilterSet,
    TrustedSiteFilterSet,
)
from .forms import IncomingEndpointForm, SubscriptionForm, TrustedSiteForm, WebhookSettingsForm
from .models import Delivery, IncomingEndpoint, IncomingRequest, Subscription, TrustedSite, WebhookSettings
from .tables import (
    CustomerSyncTable,
    DeliveryTable,
    IncomingEndpointTable,
    IncomingRequestTable,
    SubscriptionTable,
    TrustedSiteTable,
)

PERMISSION = "loyalty.manage_settings"
SYNC_TAB = "webhooks:customer_sync"


class ModuleRequired:
    module = "webhooks"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Program.current().module_enabled(self.module):
            raise Http404(f"The {self.module} module is off.")
        return super().dispatch(request, *args, **kwargs)


class SecretSaving:
    """Stores the form's write-only secret encrypted; generates one where the method needs it
    and none is stored (shown once on the next page). The change log records only "[set]"."""

    generate_for: tuple[str, ...] = ()
    secret_page_title = ""
    back_url = ""

    def new_secret(self, method: str) -> str:
        return secrets.new_signing_secret() if method == "standard_webhooks" else secrets.new_token()

    def save(self, form):
        obj = form.instance
        secret = form.cleaned_data.get("secret") or ""
        self.generated = None
        if not secret and not obj.secret_encrypted and obj.auth_method in self.generate_for:
            secret = self.generated = self.new_secret(obj.auth_method)
        if secret:
            obj.secret_encrypted = secrets.encrypt(secret)
            obj.secret_hint = secrets.hint(secret)
            form.cleaned_data["secret"] = "[set]"
        return super().save(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        if self.generated:
            return render(
                self.request,
                "webhooks/secret.html",
                {
                    "title": self.secret_page_title,
                    "object": self.object,
                    "secret": self.generated,
                    "back_url": self.back_url,
                },
            )
        return response


# --- trusted sites and subscriptions --------------------------------------------------------------


class SiteListView(ModuleRequired, SettingsMixin, ObjectListView):
    template_name = "settings/object_list.html"
    permission_required = PERMISSION
    queryset = TrustedSite.objects.all()
    filterset_class = TrustedSiteFilterSet
    table_class = TrustedSiteTable
    title = "Trusted sites"
    section = "webhooks:site_list"
    actions = [("New trusted site", "webhooks:site_add", PERMISSION)]


class SiteEditView(ModuleRequired, SecretSaving, SettingsEditView):
    model = TrustedSite
    form_class = TrustedSiteForm
    permission_required = PERMISSION
    success_url = reverse_lazy("webhooks:site_list")
    section = "webhooks:site_list"
    generate_for = (AuthMethod.STANDARD_WEBHOOKS,)
    secret_page_title = "Signing secret"
    back_url = reverse_lazy("webhooks:site_list")


class SubscriptionListView(ModuleRequired, SettingsMixin, ObjectListView):
    template_name = "settings/object_list.html"
    permission_required = PERMISSION
    queryset = Subscription.objects.select_related("site")
    filterset_class = SubscriptionFilterSet
    table_class = SubscriptionTable
    title = "Webhook subscriptions"
    section = "webhooks:subscription_list"
    actions = [
        ("New subscription", "webhooks:subscription_add", PERMISSION),
        ("Log", "webhooks:delivery_list", PERMISSION),
        ("Dead letters", "webhooks:dead_letter_list", PERMISSION),
        ("Webhook settings", "webhooks:settings", PERMISSION),
    ]


class SubscriptionEditView(ModuleRequired, SettingsEditView):
    model = Subscription
    form_class = SubscriptionForm
    permission_required = PERMISSION
    success_url = reverse_lazy("webhooks:subscription_list")
    section = "webhooks:subscription_list"


class WebhookSettingsView(ModuleRequired, SettingsEditView):
    model = WebhookSettings
    form_class = WebhookSettingsForm
    permission_required = PERMISSION
    success_url = reverse_lazy("webhooks:subscription_list")
    section = "webhooks:subscription_list"
    title_edit = "Webhook settings"

    def get_object(self, queryset=None):
        return WebhookSettings.current()


# --- the log, dead letters, replay ----------------------------------------------------------------


class DeliveryListView(ModuleRequired, SettingsMixin, ObjectListView):
    template_name = "webhooks/delivery_list.html"
    permission_required = PERMISSION
    filterset_class = DeliveryFilterSet
    table_class = DeliveryTable
    title = "Webhook log"
    section = "webhooks:subscription_list"

    def get_queryset(self):
        return Delivery.objects.select_related("site", "customer").order_by("-id")


class DeadLetterListView(DeliveryListView):
    title = "Dead letters: failed webhook messages"
    dead_letters = True

    def get_queryset(self):
        return super().get_queryset().filter(status=DeliveryStatus.FAILED)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["dead_letters"] = True
        return context


class DeliveryDetailView(ModuleRequired, SettingsMixin, ConsoleView, DetailView):
    permission_required = PERMISSION
    template_name = "webhooks/delivery_detail.html"
    section = "webhooks:subscription_list"
    queryset = Delivery.objects.select_related("site", "customer", "subscription")
    context_object_name = "delivery"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Webhook message {self.object.msg_id}"
        context["attempts"] = self.object.attempt_rows.all()[:50]
        context["replayable"] = self.object.status in (DeliveryStatus.FAILED, DeliveryStatus.DONE)
        return context


class ReplayView(ModuleRequired, ConsoleView, View):
    """POST: replay the ticked deliveries (`ids`), or with `all=1` every failed one (at most
    10,000 at a time)."""

    permission_required = PERMISSION
    http_method_names = ["post"]

    def post(self, request):
        if request.POST.get("all"):
            ids = list(
                Delivery.objects.filter(status=DeliveryStatus.FAILED)
                .order_by("id")
                .values_list("pk", flat=True)[:10000]
            )
        else:
            ids = [int(v) for v in request.POST.getlist("ids") if is_digits(v)][:10000]
        if not ids:
            messages.error(request, "Tick the messages to replay.")
            return HttpResponseRedirect(reverse("webhooks:dead_letter_list"))
        count = delivery.replay(ids)
        messages.success(request, f"{count} message(s) queued again with their original webhook IDs.")
        back = request.POST.get("next", "")
        return HttpResponseRedirect(
            back if back.startswith("/") and not back.startswith("//") else reverse("webhooks:delivery_list")
        )


# --- incoming -------------------------------------------------------------------------------------


class IncomingModule(ModuleRequired):
    module = "incoming_webhooks"


class IncomingListView(IncomingModule, SettingsMixin, ObjectListView):
    template_name = "settings/object_list.html"
    permission_required = PERMISSION
    queryset = IncomingEndpoint.objects.all()
    filterset_class = IncomingEndpointFilterSet
    table_class = IncomingEndpointTable
    title = "Incoming webhooks"
    section = "webhooks:incoming_list"
    actions = [
        ("Create new webhook", "webhooks:incoming_blueprints", PERMISSION),
        ("Log", "webhooks:incoming_log", PERMISSION),
    ]


class IncomingBlueprintsView(IncomingModule, SettingsMixin, ConsoleView, TemplateView):
    """Create new webhook, step 1: pick a blueprint (Blank or a prefilled mParticle scenario)."""

    permission_required = PERMISSION
    template_name = "webhooks/incoming_blueprints.html"
    section = "webhooks:incoming_list"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title="Create new webhook: blueprint", blueprints=blueprints.BLUEPRINTS)
        return context


class IncomingEditView(IncomingModule, SecretSaving, SettingsEditView):
    model = IncomingEndpoint
    form_class = IncomingEndpointForm
    permission_required = PERMISSION
    success_url = reverse_lazy("webhooks:incoming_list")
    section = "webhooks:incoming_list"
    template_name = "webhooks/incoming_form.html"
    generate_for = (
        IncomingAuth.STANDARD_WEBHOOKS,
        IncomingAuth.HEADER_HMAC,
        IncomingAuth.BEARER,
        IncomingAuth.STATIC_TOKEN,
    )
    secret_page_title = "Incoming webhook secret"
    back_url = reverse_lazy("webhooks:incoming_list")

    def get_initial(self):
        """A new endpoint starts from the blueprint in `?blueprint=` (webhooks.blueprints)."""
        initial = super().get_initial()
        blueprint = blueprints.BY_KEY.get(self.request.GET.get("blueprint", ""))
        if self.object is None and blueprint is not None:
            initial.update(blueprint.initial())
        return initial


class IncomingToggleView(IncomingModule, ConsoleView, View):
    """POST: activate or inactivate an endpoint (an inactive one answers 404)."""

    permission_required = PERMISSION
    http_method_names = ["post"]

    def post(self, request, pk):
        endpoint = get_object_or_404(IncomingEndpoint, pk=pk)
        endpoint.active = not endpoint.active
        endpoint.save(update_fields=["active", "updated_at"])
        messages.success(
            request, f"Incoming webhook {endpoint.name} {'activated' if endpoint.active else 'inactivated'}."
        )
        return HttpResponseRedirect(reverse("webhooks:incoming_list"))


class IncomingLogView(IncomingModule, SettingsMixin, ObjectListView):
    template_name = "settings/object_list.html"
    permission_required = PERMISSION
    filterset_class = IncomingRequestFilterSet
    table_class = IncomingRequestTable
    title = "Incoming webhook log"
    section = "webhooks:incoming_list"

    def get_queryset(self):
        return IncomingRequest.objects.select_related("endpoint", "event", "customer").order_by("-id")


# --- the profile's Sync tab and Resync (000) --------------------------------------------------------


class CustomerSyncView(CustomerTabView):
    active_tab = SYNC_TAB
    template_name = "webhooks/customer_sync.html"

    def get(self, request, *args, **kwargs):
        if not Program.current().sync:
            raise Http404("The sync module is off.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = Delivery.objects.filter(customer=self.object).select_related("site").order_by("-id")
        context["table"] = self.paginate_table(CustomerSyncTable(rows))
        context["recent"] = list(rows.prefetch_related("attempt_rows")[:10])
        return context


class ResyncView(CustomerActionView):
    """Resync asks for a reason, as every support action does, and records it in the change log
    (the customer's Changes tab) in the transaction that queues the message."""

    permission_required = "loyalty.change_customer_profile"
    module = "sync"
    success_tab = SYNC_TAB
    title = "Resync"
    confirm_text = (
        "Sends the customer fields chosen in the webhook settings to the marketing-automation site."
    )
    submit_label = "Resync"

    def perform(self, form) -> str:
        with transaction.atomic():
            sent = delivery.resync(self.customer)
            audit.record(
                user=self.request.user,
                action="resync",
                environment=self.customer.environment,
                customer=self.customer,
                reason=form.cleaned_data["reason"],
                after={"site": sent.site.name, "webhook_id": sent.msg_id, "path": sent.path},
            )
        return f"Resync queued to {sent.site.name} (webhook ID {sent.msg_id})."
