"""Console pages for API keys (administrators: `loyalty.manage_api_keys`): list, create, rotate,
revoke. A secret is shown once, on the page that answers the create or rotate request."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.generic import FormView

from loyalty.audit import log as audit
from loyalty.console.views import ConsoleView, ObjectListView

from . import keys
from .forms import ApiKeyForm, ConfirmForm
from .models import ApiKey
from .tables import ApiKeyFilterSet, ApiKeyTable

PERMISSION = "loyalty.manage_api_keys"


def _record(request, action, api_key):
    audit.record(
        user=request.user,
        action=action,
        environment=api_key.environment,
        object_repr=f"API key {api_key.name} ({api_key.key})",
        after={
            "name": api_key.name,
            "key": api_key.key,
            "scopes": api_key.scopes,
            "allow_unsigned": api_key.allow_unsigned,
            "rate_limit": api_key.rate_limit,
        },
    )


class ApiKeyListView(ObjectListView):
    permission_required = PERMISSION
    template_name = "api/apikey_list.html"
    queryset = ApiKey.objects.select_related("created_by").order_by("-created_at", "-id")
    filterset_class = ApiKeyFilterSet
    table_class = ApiKeyTable
    title = "API keys"
    actions = [("New API key", "api_keys:api_key_add", PERMISSION)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["credential_scope"] = keys.credential_scope()
        return context


class ApiKeyCreateView(ConsoleView, FormView):
    permission_required = PERMISSION
    form_class = ApiKeyForm
    template_name = "api/apikey_form.html"

    def get_initial(self):
        return {"environment": getattr(self.request, "environment", "live")}

    def form_valid(self, form):
        with transaction.atomic():
            api_key, secret = keys.create_api_key(
                name=form.cleaned_data["name"],
                environment=form.cleaned_data["environment"],
                scopes=form.cleaned_data["scopes"],
                allow_unsigned=form.cleaned_data["allow_unsigned"],
                rate_limit=form.cleaned_data["rate_limit"],
                created_by=self.request.user,
            )
            _record(self.request, "api_key_create", api_key)
        return render_secret(self.request, api_key, secret, created=True)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = "New API key"
        return context


def render_secret(request, api_key, secret, *, created):
    """The only page that ever shows the secret. Not cached, not stored in the session."""
    response = render(
        request,
        "api/apikey_secret.html",
        {
            "title": "API key created" if created else "Secret rotated",
            "api_key": api_key,
            "config": keys.client_config(api_key, secret),
            "created": created,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


class ApiKeyActionView(ConsoleView, FormView):
    permission_required = PERMISSION
    form_class = ConfirmForm
    template_name = "console/action_form.html"
    title = ""
    confirm_text = ""
    danger = False

    def dispatch(self, request, *args, **kwargs):
        self.api_key = get_object_or_404(ApiKey, pk=kwargs["pk"], revoked_at__isnull=True)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            {
                "title": self.title.format(key=self.api_key),
                "confirm_text": self.confirm_text,
                "danger": self.danger,
                "submit_label": self.title.split(" ")[0],
                "cancel_url": reverse("api_keys:api_key_list"),
            }
        )
        return context


class ApiKeyRotateView(ApiKeyActionView):
    title = "Rotate the secret of {key.name}"
    confirm_text = "A new secret replaces the current one at once: requests signed with the old secret fail."

    def form_valid(self, form):
        with transaction.atomic():
            secret = keys.rotate(self.api_key)
            _record(self.request, "api_key_rotate", self.api_key)
        self.api_key.refresh_from_db()
        return render_secret(self.request, self.api_key, secret, created=False)


class ApiKeyRevokeView(ApiKeyActionView):
    title = "Revoke {key.name}"
    confirm_text = "Requests with this key are refused from now on. This cannot be undone."
    danger = True

    def form_valid(self, form):
        with transaction.atomic():
            keys.revoke(self.api_key)
            _record(self.request, "api_key_revoke", self.api_key)
        messages.success(self.request, f"API key “{self.api_key.name}” revoked.")
        return HttpResponseRedirect(reverse("api_keys:api_key_list"))
