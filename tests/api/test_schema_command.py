"""`manage.py spectacular` writes the same OpenAPI document as GET /api/schema/: the
slash-stripping hook is in SPECTACULAR_SETTINGS, not on the view."""

import json

from django.core.management import call_command

ISSUE_PATHS = {
    "/api/events",
    "/api/events/bulk",
    "/api/customers",
    "/api/customers/{id}",
    "/api/customers/{id}/events",
    "/api/customers/{id}/points",
    "/api/customers/{id}/merge",
    "/api/customers/{id}/opt-in",
    "/api/entities",
}


def test_the_command_writes_the_served_schema(client, db, tmp_path):
    target = tmp_path / "schema.json"
    call_command("spectacular", "--file", str(target), "--format", "openapi-json")
    written = json.loads(target.read_text())
    served = json.loads(client.get("/api/schema/?format=json", HTTP_ACCEPT="application/json").content)

    assert sorted(written["paths"]) == sorted(served["paths"])
    assert ISSUE_PATHS <= set(written["paths"])
    assert not [path for path in written["paths"] if path.endswith("/")]
    assert written == served
