from django.apps import AppConfig

from .hooks import check_hooks


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # Opt-out must reach every table holding personal data: a scrubber or merger named in
        # customers.hooks that does not exist stops the start.
        check_hooks()
