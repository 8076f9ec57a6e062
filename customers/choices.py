import functools
import re

from django.conf.locale import LANG_INFO
from django.db import models
from django_countries import countries


class CustomerStatus(models.TextChoices):
    INACTIVE = "inactive", "Inactive"
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    OPTED_OUT = "opted_out", "Opted-out"
    BANNED = "banned", "Banned"


class FieldType(models.TextChoices):
    STRING = "string", "String"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Boolean"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"


# --- ISO codes for the country and language attributes -------------------------
# Countries: ISO 3166-1 alpha-2 from django-countries. Languages: ISO 639-1 two-letter codes
# (Django's own language table), optionally with a region (`en-GB`, BCP 47 style).


def country_choices() -> list[tuple[str, str]]:
    """[(code, name)] of every ISO 3166-1 country, by name."""
    return [(code, str(name)) for code, name in countries]


def language_choices() -> list[tuple[str, str]]:
    """[(code, name)] of the ISO 639-1 languages Django knows, by name."""
    return sorted(
        ((code, info["name"]) for code, info in LANG_INFO.items() if len(code) == 2 and "name" in info),
        key=lambda choice: choice[1],
    )


LANGUAGE_RE = re.compile(r"^([a-z]{2})(?:-([A-Z]{2}))?$")


def normalize_country(value: str) -> str | None:
    """`hu` -> `HU`; None when the value is no ISO 3166-1 alpha-2 code."""
    code = value.strip().upper()
    return code if len(code) == 2 and code in _country_codes() else None


def normalize_language(value: str) -> str | None:
    """`EN` -> `en`, `en-gb` -> `en-GB`; None when the language is no ISO 639-1 code."""
    text = value.strip()
    head, _, region = text.partition("-")
    candidate = head.lower() + (f"-{region.upper()}" if region else "")
    match = LANGUAGE_RE.match(candidate)
    if not match or match.group(1) not in _language_codes():
        return None
    return candidate


@functools.cache
def _country_codes() -> frozenset[str]:
    """The codes once per process (`code in countries` walks every country: imports call this
    for every row)."""
    return frozenset(code for code, _ in countries)


@functools.cache
def _language_codes() -> frozenset[str]:
    return frozenset(code for code, _ in language_choices())


# Label identifiers: 1-100 characters, ASCII letters, digits, `_`, `.` and `-`,
# starting with a letter or digit; no spaces, markup or emoji. docs/user-guide/customers.md.
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
LABEL_FORMAT = (
    "1 to 100 characters: letters A-Z, digits, _ . and -, starting with a letter or digit (no spaces)."
)
