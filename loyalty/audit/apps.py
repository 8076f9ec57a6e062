from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only change log of console actions and content-approval requests."""

    name = "loyalty.audit"
    label = "audit"
    verbose_name = "Change log"
