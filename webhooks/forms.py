"""Forms of the webhook settings pages. Secrets are write-only fields: empty keeps the stored one
(or, where the method needs one and none is stored, generates one, shown once)."""

from __future__ import annotations

from django import forms

from loyalty import expressions

from . import addresses
from .choices import AuthMethod, IncomingAuth
from .models import IncomingEndpoint, Subscription, TrustedSite, WebhookSettings


def _names(text: str) -> list[str]:
    return [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]


class SecretMixin(forms.Form):
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Empty keeps the stored secret (or generates one, shown once).",
        max_length=8000,
    )


class TrustedSiteForm(SecretMixin, forms.ModelForm):
    class Meta:
        model = TrustedSite
        fields = [
            "name",
            "url",
            "content_type",
            "auth_method",
            "username",
            "jwt_algorithm",
            "jwt_claims",
            "aws_region",
            "aws_service",
            "aws_algorithm_prefix",
            "aws_vendor_key",
            "oauth_token_url",
            "oauth_scope",
            "timeout_seconds",
            "max_concurrency",
            "active",
        ]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            addresses.check_url(url)
        except addresses.AddressRefused as error:
            raise forms.ValidationError(str(error)) from None
        return url

    def clean_timeout_seconds(self):
        value = self.cleaned_data["timeout_seconds"]
        if not 1 <= value <= 60:
            raise forms.ValidationError("Between 1 and 60 seconds.")
        return value

    def clean_max_concurrency(self):
        value = self.cleaned_data["max_concurrency"]
        if not 1 <= value <= 100:
            raise forms.ValidationError("Between 1 and 100.")
        return value

    def clean_jwt_claims(self):
        value = self.cleaned_data["jwt_claims"]
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError('The claims are a JSON object, e.g. {"iss": "loyalty"}.')
        return value

    def clean(self):
        data = super().clean()
        method = data.get("auth_method")
        if method == AuthMethod.BASIC and not data.get("username"):
            self.add_error("username", "Basic authentication needs a username.")
        if method == AuthMethod.AWS:
            for name, label in (
                ("username", "the access key ID"),
                ("aws_region", "a region"),
                ("aws_service", "a service"),
            ):
                if not data.get(name):
                    self.add_error(name, f"AWS signing needs {label}.")
            for name in ("aws_algorithm_prefix", "aws_vendor_key"):
                if data.get(name) and not data[name].replace("-", "").isalnum():
                    self.add_error(name, "Letters, digits and '-' only.")
        if method == AuthMethod.OAUTH:
            if not data.get("username"):
                self.add_error("username", "OAuth needs the client ID.")
            if not data.get("oauth_token_url"):
                self.add_error("oauth_token_url", "OAuth needs the token URL.")
            else:
                try:
                    addresses.check_url(data["oauth_token_url"])
                except addresses.AddressRefused as error:
                    self.add_error("oauth_token_url", str(error))
        needs_typed = method in (
            AuthMethod.BASIC,
            AuthMethod.BEARER,
            AuthMethod.JWT,
            AuthMethod.AWS,
            AuthMethod.OAUTH,
        )
        if needs_typed and not data.get("secret") and not self.instance.secret_encrypted:
            self.add_error(
                "secret", "This authentication method needs a secret (password, token, key or client secret)."
            )
        return data


class SubscriptionForm(forms.ModelForm):
    actions = forms.CharField(help_text="event actions, comma-separated; * for every action", max_length=5000)

    class Meta:
        model = Subscription
        fields = ["name", "site", "environment", "actions", "path", "payload_template", "active"]
        widgets = {"payload_template": forms.Textarea(attrs={"rows": 8, "class": "mono"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["actions"] = ", ".join(self.instance.actions or [])

    def clean_actions(self):
        names = _names(self.cleaned_data["actions"])
        if not names:
            raise forms.ValidationError("Name at least one action (or * for all).")
        return names

    def clean_path(self):
        return _template(self.cleaned_data["path"])

    def clean_payload_template(self):
        return _template(self.cleaned_data["payload_template"], single_braces=False)


def _template(text: str, *, single_braces: bool = True) -> str:
    """A path (``{customer.id}`` and ``{{ customer.id }}``) or, `single_braces=False`, a JSON
    payload template (only ``{{ }}``): the rules of loyalty.expressions, as workflow fields."""
    if text:
        try:
            expressions.check_template(text, single_braces=single_braces)
        except expressions.ExpressionError as error:
            raise forms.ValidationError(error.message) from None
    return text


def _expression(text: str) -> str:
    try:
        expressions.check_expression(text)
    except expressions.ExpressionError as error:
        raise forms.ValidationError(error.message) from None
    return text


class WebhookSettingsForm(forms.ModelForm):
    sync_fields = forms.CharField(
        required=False, help_text="customer fields Resync sends, comma-separated", max_length=5000
    )

    class Meta:
        model = WebhookSettings
        fields = ["retention_days", "sync_site", "sync_path", "sync_fields"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["sync_fields"] = ", ".join(self.instance.sync_fields or [])

    def clean_retention_days(self):
        value = self.cleaned_data["retention_days"]
        if not 1 <= value <= 3650:
            raise forms.ValidationError("Between 1 and 3650 days.")
        return value

    def clean_sync_fields(self):
        return _names(self.cleaned_data["sync_fields"])

    def clean_sync_path(self):
        return _template(self.cleaned_data["sync_path"])


class IncomingEndpointForm(SecretMixin, forms.ModelForm):
    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        help_text="one per line: attribute = expression, e.g. points = body.amount * 2",
        max_length=20000,
    )
    filters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
        help_text='one expression per line, e.g. headers.x_shop == "main"',
        max_length=20000,
    )

    class Meta:
        model = IncomingEndpoint
        fields = [
            "name",
            "method",
            "environment",
            "action",
            "customer_expression",
            "attributes",
            "filters",
            "filter_mode",
            "auth_method",
            "auth_header",
            "hmac_algorithm",
            "hmac_encoding",
            "hmac_prefix",
            "rate_limit",
            "active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["attributes"] = "\n".join(
                f"{k} = {v}" for k, v in (self.instance.attributes or {}).items()
            )
            self.initial["filters"] = "\n".join(self.instance.filters or [])

    def clean_customer_expression(self):
        return _expression(self.cleaned_data["customer_expression"])

    def clean_attributes(self):
        mapping = {}
        for number, line in enumerate((self.cleaned_data["attributes"] or "").splitlines(), 1):
            if not line.strip():
                continue
            name, sep, text = line.partition("=")
            if not sep or not name.strip() or not text.strip():
                raise forms.ValidationError(f"Line {number}: write attribute = expression.")
            mapping[name.strip()] = _expression(text.strip())
        return mapping

    def clean_filters(self):
        return [
            _expression(line.strip())
            for line in (self.cleaned_data["filters"] or "").splitlines()
            if line.strip()
        ]

    def clean_rate_limit(self):
        value = self.cleaned_data["rate_limit"]
        if not 1 <= value <= 100000:
            raise forms.ValidationError("Between 1 and 100000 requests a minute.")
        return value

    def clean(self):
        data = super().clean()
        method = data.get("auth_method")
        header = data.get("auth_header", "")
        if method in (IncomingAuth.HEADER_HMAC, IncomingAuth.STATIC_TOKEN) and not header:
            self.add_error("auth_header", "Name the header (or body.<attribute> for a token).")
        if method == IncomingAuth.HEADER_HMAC and header.startswith("body."):
            self.add_error("auth_header", "A signature comes in a header.")
        return data
