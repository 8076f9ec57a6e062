"""A tiny server-rendered SVG line chart (the balance over time on the Overview tab)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import mark_safe


def balance_chart(points: list[tuple], width: int = 560, height: int = 120) -> str:
    """points: [(datetime, value)] in time order. Returns an inline <svg> (or "" for < 2 points)."""
    if len(points) < 2:
        return ""
    values = [value for _, value in points]
    low, high = min(values), max(values)
    span = (high - low) or 1
    pad = 4
    step = (width - 2 * pad) / (len(points) - 1)
    coords = " ".join(
        f"{pad + i * step:.1f},{height - pad - (value - low) / span * (height - 2 * pad):.1f}"
        for i, (_, value) in enumerate(points)
    )
    first, last = points[0][0], points[-1][0]
    return format_html(
        '<svg class="balance-chart" data-testid="balance-chart" viewBox="0 0 {w} {h}" width="100%" height="{h}" '
        'role="img" aria-label="Spendable balance from {a} to {b}, now {v}">'
        '<polyline fill="none" stroke="currentColor" stroke-width="2" points="{c}"/>'
        '<text x="{pad}" y="12" font-size="10" fill="#64748b">{hi}</text>'
        '<text x="{pad}" y="{ty}" font-size="10" fill="#64748b">{lo}</text></svg>'
        '<div class="muted chart-range">{a} – {b}</div>',
        w=width,
        h=height,
        a=first.date(),
        b=last.date(),
        v=values[-1],
        c=mark_safe(coords),
        pad=pad + 2,
        hi=high,
        lo=low,
        ty=height - pad - 2,
    )
