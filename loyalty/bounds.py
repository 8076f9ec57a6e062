"""Declared bounds of what the engine accepts.

Every attribute the engine accepts fits the column it is stored in and the aggregates built
from it; beyond these the event is refused with a 400 naming the attribute (events.validation,
transactions.items, transactions.stats), and nothing is ever truncated.
"""

from decimal import Decimal

# Attributes without explicit bounds on their events.definitions.Attr take these by type:
TEXT_MAX = 1000  # characters of a string attribute stored only in the event's JSON data
LIST_MAX = 1000  # entries of a list attribute
INTEGER_MAX = 10**15  # |integer| (JSON numbers stay exact below 2**53)
NUMBER_MAX = 10**15  # |number|
# Points of one event: the customer's bigint totals hold 9.2e18, i.e. millions of maximal events.
POINTS_MAX = 10**12
# One purchase (Transaction.total numeric(14,2)); the customer's purchase_total (numeric(14,2))
# adds them up, so one purchase is bounded a thousand times lower (transactions.stats refuses
# the purchase that would overflow the sum).
MONEY_MAX = Decimal("999999999.99")
QUANTITY_MAX = 10**6  # per line; purchase_items is an int4 sum (transactions.stats guards it)
# Date-times: the columns hold years 1..9999, but expiry arithmetic (periods, rounding, time
# zones up to +-14:00) must stay inside them: dates are accepted from 1900 to 2999 (UTC).
YEAR_MIN, YEAR_MAX = 1900, 2999
# The customer's aggregates (customers.Customer columns).
PURCHASE_TOTAL_MAX = Decimal("999999999999.99")  # numeric(14,2)
INT4_MAX = 2**31 - 1  # purchase_count, purchase_items

# Digits of a database ID or a whole number read from text: a bigint holds every 18-digit number.
ID_DIGITS_MAX = 18


def is_digits(value, max_digits: int = ID_DIGITS_MAX) -> bool:
    """True for a str of the ASCII digits 0-9 only, at most `max_digits` of them, or for a
    non-negative int that many digits long; False for anything else (bools, floats, "", "-1").

    Check text with this before int(): str.isdigit() is also true of "²" and "①" (int() raises
    ValueError: a 500), of "١٢" (int() reads 12, an ID nobody wrote) and of 5,000 ASCII digits
    (int() refuses more than 4,300), so every ID, page number and list index taken from a URL,
    a query string, a form or a JSON key goes through here."""
    if isinstance(value, bool):
        return False
    text = str(value) if isinstance(value, int) else value
    if not isinstance(text, str):
        return False
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()
