"""The one clock every rule reads, and the program's calendar. Tests move it with time-machine.

Calendar rules, used wherever a date or a naive date-time enters the engine (event
attributes, effective_timestamp, console date pickers, report and filter ranges):
- a date without a time names a whole calendar day in the program's time zone: an expiration
  date runs through the end of that local day (23:59:59, as the expiration rules round), an
  activation or start date from its start (00:00:00);
- a naive date-time is read in the program's time zone, never the server's;
- on a day that changes daylight saving time, the local day is 23 or 25 hours long; a local time
  that does not exist (the skipped hour) is read with the offset before the change (PEP 495 fold=0).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from loyalty import configcache
from loyalty.models import Program, SandboxClock

END_OF_DAY = dt.time(23, 59, 59)
SANDBOX = "sandbox"
SANDBOX_CLOCK_KEY = "loyalty:sandbox_clock:v1"


def now(environment: str | None = None) -> dt.datetime:
    """The current time; in the sandbox, its test clock's (real time + the advanced offset, issue
    13 §8). Live, and callers that name no environment, read real time."""
    if environment == SANDBOX:
        return timezone.now() + sandbox_offset()
    return timezone.now()


def sandbox_offset() -> dt.timedelta:
    """How far the sandbox's test clock is ahead of real time (kept in process memory; advancing
    it tells every process, loyalty.configcache)."""
    return configcache.get(SANDBOX_CLOCK_KEY, _load_offset)


def _load_offset() -> dt.timedelta:
    row = SandboxClock.objects.filter(pk=1).first()
    return row.offset if row is not None else dt.timedelta(0)


def zone() -> ZoneInfo:
    """The program's time zone (UTC when unset or unknown)."""
    try:
        return ZoneInfo(Program.current().time_zone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def today() -> dt.date:
    """Today in the program's time zone."""
    return now().astimezone(zone()).date()


def day_start(day: dt.date) -> dt.datetime:
    """00:00:00 of `day` in the program's time zone, as an aware UTC date-time."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone()).astimezone(dt.UTC)


def day_end(day: dt.date) -> dt.datetime:
    """23:59:59 of `day` in the program's time zone, as an aware UTC date-time."""
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=zone()).astimezone(dt.UTC)


def date_bound(lookup: str, day: dt.date) -> tuple[str, dt.datetime]:
    """A range bound given as a bare date, by the rule "a date names the whole local day"
    (docs/dates-and-bounds.md): (lookup, moment) to filter a date-time column with. `gte` / `lt`
    compare with the day's local start, `lte` ("until and with that day") becomes `lt` the next
    day's start and `gt` ("after that day") `gte` the next day's start — exact to the microsecond
    and right on days that change daylight saving time. Every date filter uses it: the API's
    `timestamp.*` / `updated_at.*`, the console's date fields and segment conditions."""
    start, following = day_start(day), day_start(day + dt.timedelta(days=1))
    return {"gte": ("gte", start), "lt": ("lt", start), "lte": ("lt", following), "gt": ("gte", following)}[
        lookup
    ]


def is_bare_date(text: str) -> bool:
    """`YYYY-MM-DD` with no time (the whole local day), as opposed to a date-time."""
    text = text.strip()
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()


def aware(moment: dt.datetime) -> dt.datetime:
    """A naive date-time read in the program's time zone; an aware one unchanged."""
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=zone())
    return moment
