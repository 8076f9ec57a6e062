from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The integration API's plumbing: keys, request signing, idempotency, errors, rate limits."""

    name = "loyalty.api"
    label = "api"
    verbose_name = "Integration API"
