"""A worker process for the two-process configuration test: reads commands on stdin.

get            -> prints the program's name as this process's configuration cache holds it
rename NAME    -> saves the program with a new name (configcache.changed() bumps the generation)
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

import django  # noqa: E402

django.setup()

from loyalty.models import Program  # noqa: E402


def main() -> None:
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "get":
            print(Program.current().name, flush=True)
        elif command == "rename":
            program = Program.objects.get(pk=Program.current().pk)
            program.name = argument
            program.save()
            print("ok", flush=True)


if __name__ == "__main__":
    main()
