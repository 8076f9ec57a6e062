"""Template filters for the console's one look (loyalty.console.formatting):

{% load console_format %}
{{ event.timestamp|when }}      <time title="2026-11-29 08:40:12 CET (UTC+0100)">2026-11-29 08:40</time>
{{ customer.birth_date|day }}   <time ...>1985-11-18</time>
{{ balance|number }}            8,772
{{ transaction.total|money }}   1,234.50 EUR   ({{ x|money:"USD" }} for another currency)
{{ anything|plain }}            dicts and lists as readable text, never a Python repr
{% changes before after labels as rows %}  before -> after rows
"""

import datetime as dt

from django import template
from django.utils.html import format_html_join

from customers.fields import attribute_label as _attribute_label
from loyalty import clock
from loyalty.console import formatting

register = template.Library()


@register.filter
def when(value, empty=formatting.EMPTY):
    """A date-time; `{{ x|when:"never" }}` names what nothing means."""
    return formatting.time_html(value, with_time=True) if value else empty


@register.filter
def day(value, empty=formatting.EMPTY):
    return formatting.time_html(value, with_time=False) if value else empty


@register.filter
def number(value):
    return formatting.number_text(value)


@register.filter
def money(value, currency=None):
    return formatting.money_text(value, currency)


@register.filter
def plain(value):
    """Readable text; dict keys named by their attribute labels."""
    return formatting.plain(value, _attribute_label)


@register.filter
def attribute_label(name):
    """`shoe_size` -> its custom field's label; built-ins by their label."""
    return _attribute_label(name)


@register.filter
def as_table(value):
    """(headers, rows) for a list of dicts, or None."""
    return formatting.table(value)


@register.simple_tag
def changes(before, after):
    """`{% changes change.before change.after as rows %}`: [{key, label, before, after}]."""
    return formatting.changes(before, after, _attribute_label)


@register.simple_tag
def time_zone():
    return formatting.zone_name()


@register.filter
def chart_rows(chart):
    """A loyalty.charts.Chart's table body rows (<tr>…</tr>), the figures as `number` shows them;
    one call per table instead of a filter per cell (the dashboard has thousands of cells)."""
    return format_html_join(
        "",
        "<tr><td>{}</td>{}</tr>",
        (
            (
                _label_html(row[0]),
                format_html_join(
                    "", '<td class="num">{}</td>', ((formatting.number_text(v),) for v in row[1:])
                ),
            )
            for row in chart.rows()
        ),
    )


def _label_html(label):
    """A chart's x label: a day ("2026-11-29") or a local date-time ("2026-11-29 08:40") as a
    <time> element like every date on the console; anything else as text."""
    text = str(label)
    try:
        if len(text) == 10:
            return formatting.time_html(dt.date.fromisoformat(text), with_time=False)
        if len(text) == 16:
            moment = dt.datetime.fromisoformat(text).replace(tzinfo=clock.zone())
            return formatting.time_html(moment, with_time=True)
    except ValueError:
        pass
    return text
