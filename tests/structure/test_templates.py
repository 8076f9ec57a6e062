"""Every template of the project starts with its `{% comment %}` header (what it renders, which
view uses it, its blocks and context), after an optional `{% extends %}` / `{% load %}` line
(docs/development.md, issue 12 item 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.utils import get_app_template_dirs

ROOT = Path(settings.BASE_DIR).resolve()
LEADING_TAGS = re.compile(r"\A(\s*\{%\s*(extends|load)\s[^%]*%\})*\s*")


def project_templates() -> list[Path]:
    """Templates under templates/ and every app's templates/ of this repository (not installed
    packages')."""
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    dirs += [Path(d) for d in get_app_template_dirs("templates")]
    found = set()
    for directory in dirs:
        directory = directory.resolve()
        if ROOT in directory.parents and ".venv" not in directory.parts:
            found.update(p for p in directory.rglob("*") if p.is_file() and p.suffix in {".html", ".txt"})
    return sorted(found)


def starts_with_header(text: str) -> bool:
    rest = LEADING_TAGS.sub("", text, count=1)
    return rest.startswith("{% comment %}") and "{% endcomment %}" in rest


def test_the_walk_finds_the_project_and_app_templates():
    names = {p.relative_to(ROOT).as_posix() for p in project_templates()}
    assert "templates/base.html" in names
    assert "loyalty/api/templates/api/apikey_list.html" in names
    assert not [n for n in names if "site-packages" in n]


@pytest.mark.parametrize("path", project_templates(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_each_template_starts_with_its_comment_header(path):
    assert starts_with_header(path.read_text()), (
        f"{path.relative_to(ROOT)}: begin with {{% comment %}}what it renders, for which view, context{{% endcomment %}}"
    )


@pytest.mark.parametrize(
    "text,ok",
    [
        ("{% comment %}A page.{% endcomment %}\n<p>", True),
        ('{% extends "base.html" %}\n{% comment %}A page.{% endcomment %}', True),
        ("{% load static %}{% comment %}Layout.{% endcomment %}<!doctype html>", True),
        ('{% extends "base.html" %}\n{% load humanize %}\n{% comment %}x{% endcomment %}', True),
        ('{% extends "base.html" %}\n{% block title %}x{% endblock %}', False),
        ("<p>{% comment %}late{% endcomment %}</p>", False),
        ("{# a one-line comment is not a header #}", False),
    ],
)
def test_the_header_rule(text, ok):
    assert starts_with_header(text) is ok
