"""`manage.py create_staff_user USERNAME --role ROLE [--password P] [--email E]`

Creates a console user with one role (or changes the role and password of an existing one).
Roles by slug: administrator, program_manager, support_agent, analyst, approver.
Without --password the password is asked for twice on the terminal.
"""

import getpass

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from loyalty.roles import ROLE_SLUGS, sync_roles


class Command(BaseCommand):
    help = "Create a console user with a role (or update an existing user's role and password)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLE_SLUGS), help="the user's role")
        parser.add_argument("--password", help="the password (asked for when omitted)")
        parser.add_argument("--email", default="", help="the user's e-mail address")

    def handle(self, *args, **options):
        username = options["username"].strip()
        if not username:
            raise CommandError("The username must not be empty.")
        password = options["password"]
        if password is None:
            password = self.prompt_password()
        User = get_user_model()
        candidate = User(username=username, email=options["email"])
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as error:
            raise CommandError("Password refused: " + " ".join(error.messages))

        group_name = ROLE_SLUGS[options["role"]]
        with transaction.atomic():
            if not Group.objects.filter(name=group_name).exists():
                sync_roles()  # the roles migration always runs first; this is for a wiped auth table
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": options["email"]}
            )
            if options["email"]:
                user.email = options["email"]
            user.is_active = True
            user.set_password(password)
            user.save()
            # One role per user: the console's permissions come from it alone.
            user.groups.set([Group.objects.get(name=group_name)])
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} with the role {group_name}."))

    def prompt_password(self) -> str:
        for _ in range(3):
            first = getpass.getpass("Password: ")
            second = getpass.getpass("Password (again): ")
            if first and first == second:
                return first
            self.stderr.write("The passwords were empty or did not match; try again.")
        raise CommandError("No password given.")
