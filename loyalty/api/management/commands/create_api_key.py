"""`manage.py create_api_key --environment live|sandbox --name NAME [--allow-unsigned]`

Prints one JSON object: {"key", "secret", "environment", "credential_scope"}."""

import json

from django.core.management.base import BaseCommand, CommandError

from loyalty.api.keys import client_config, create_api_key
from loyalty.api.models import ALL_SCOPES, DEFAULT_RATE_LIMIT
from loyalty.choices import Environment


class Command(BaseCommand):
    help = "Create an API key and print it as JSON (the secret is shown only here)."

    def add_arguments(self, parser):
        parser.add_argument("--environment", required=True, choices=Environment.values)
        parser.add_argument("--name", required=True)
        parser.add_argument("--allow-unsigned", action="store_true", help="accept ?api_key= (testing only)")
        parser.add_argument("--scopes", default=",".join(ALL_SCOPES), help="comma-separated scopes")
        parser.add_argument("--rate-limit", type=int, default=DEFAULT_RATE_LIMIT, help="requests per minute")

    def handle(self, *args, **options):
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        if options["rate_limit"] < 1:
            raise CommandError("--rate-limit must be at least 1.")
        try:
            api_key, secret = create_api_key(
                name=options["name"],
                environment=options["environment"],
                scopes=scopes,
                allow_unsigned=options["allow_unsigned"],
                rate_limit=options["rate_limit"],
            )
        except ValueError as error:
            raise CommandError(str(error))
        self.stdout.write(json.dumps(client_config(api_key, secret)))
