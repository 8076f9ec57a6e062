"""django-tables2 columns in the console's one look (loyalty.console.formatting)."""

import django_tables2 as tables
from django.template.loader import render_to_string

from customers.fields import attribute_label

from . import formatting


class WhenColumn(tables.Column):
    """A date-time: `2026-11-29 08:40` in the program's zone, the full timestamp on hover."""

    def render(self, value):
        return formatting.time_html(value, with_time=True)


class DayColumn(tables.Column):
    """A date (or a date-time shown as its date in the program's zone): `2026-11-29`."""

    def render(self, value):
        return formatting.time_html(value, with_time=False)


class NumberColumn(tables.Column):
    """A grouped, right-aligned number: `8,772`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "num"}, "th": {"class": "num"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return formatting.number_text(value)


class MoneyColumn(NumberColumn):
    """An amount with its currency: `1,234.50 EUR` (`currency_accessor` names a per-row currency)."""

    def __init__(self, *args, currency_accessor: str | None = None, **kwargs):
        self.currency_accessor = currency_accessor
        super().__init__(*args, **kwargs)

    def render(self, value, record=None):
        currency = None
        if self.currency_accessor and record is not None:
            currency = tables.A(self.currency_accessor).resolve(record, quiet=True)
        return formatting.money_text(value, currency)


class ChangesColumn(tables.Column):
    """A change-log entry's before and after as a small before -> after table (the column's own
    value is `before`; the record's `after` is read alongside)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_values", ())
        kwargs.setdefault("orderable", False)
        super().__init__(*args, **kwargs)

    def render(self, value, record):
        rows = formatting.changes(value, getattr(record, "after", None), self.label)
        return render_to_string("console/includes/changes.html", {"rows": rows})

    label = staticmethod(attribute_label)
