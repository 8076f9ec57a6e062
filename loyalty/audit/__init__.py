"""The change log of console actions and content-approval requests.

- `log.record(user=, action=, environment=, customer=, reason=, before=, after=, event=)` appends
  one ChangeLogEntry; every console action calls it explicitly (no signals).
- `changes.register_change` / `submit_change`: a console change to a customer, registered through
  the engine and logged in one transaction, or queued for an approver.
"""
