"""The change log of console actions and content-approval requests.

`audit.record(user=, action=, environment=, customer=, reason=, before=, after=, event=)` appends
one ChangeLogEntry; every console action calls it explicitly (no signals).
"""


def record(**kwargs):
    from .log import record as _record

    return _record(**kwargs)
