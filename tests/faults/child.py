"""A separate process that sends one API request through Django and is killed in the middle of it.

    python -m tests.faults.child KEY_ID SECRET BODY_JSON [IDEMPOTENCY_KEY]

It runs against the database in DATABASE_URL (the parent's committed test database), pauses inside
the request's transaction right after the engine registered the event (prints "INSIDE" and sleeps),
and waits there for the parent's SIGKILL: the request dies holding its transaction (and, with a key,
its advisory lock), exactly like a gunicorn worker killed mid-request.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
os.environ.setdefault("LOYALTY_TESTING", "1")

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

import events.api.views as event_views  # noqa: E402
from loyalty.api.models import ApiKey  # noqa: E402
from tests.api.conftest import ApiClient  # noqa: E402


def main() -> None:
    key_id, secret, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    idempotency_key = sys.argv[4] if len(sys.argv) > 4 else None
    original = event_views.register_from_request

    def register_then_hang(*args, **kwargs):
        result = original(*args, **kwargs)
        print("INSIDE", flush=True)
        time.sleep(120)
        return result

    event_views.register_from_request = register_then_hang
    api = ApiClient(Client(), ApiKey.objects.get(key=key_id), secret)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    response = api.post("/api/events", json=body, headers=headers)
    print("DONE", response.status_code, flush=True)


if __name__ == "__main__":
    main()
