"""The points ledger: the only code that writes balances, lots and ledger entries.

- `operations` the event handlers (point_add, point_spend, ...) and the shared credit/debit steps
- `lots`       lot-level operations: merge moves, expiration changes, activation and expiry
- `sql`        the ledger's hand-written statements (balance updates, entry inserts)
- `expiration` expiration and activation date arithmetic from the accounts' rules
- `accounts`   point accounts as configured (cached), default and per-customer resolution
- `checks`     the invariant checks (spendable = sum of active lots' remaining points)

Handlers receive a `loyalty.context.HandlerContext`; nothing here imports the engine.
"""
