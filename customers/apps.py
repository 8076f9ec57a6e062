from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # Opt-out must reach every table holding personal data: a scrubber or merger named in
        # customers.privacy / customers.merge that does not exist stops the start (issue 14 §2).
        from .privacy import check_hooks

        check_hooks()
