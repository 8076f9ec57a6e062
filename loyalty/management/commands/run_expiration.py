"""`manage.py run_expiration`: run the hourly expiration / activation task now, in this process."""

from django.core.management.base import BaseCommand

from loyalty.tasks import expire_and_activate


class Command(BaseCommand):
    help = "Activate due pending points and expire due points now (the hourly scheduled task)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500, help="customers per query")

    def handle(self, *args, **options):
        counts = expire_and_activate(batch=options["batch"])
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in counts.items()))
