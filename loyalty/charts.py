"""A chart and its numbers, as the console shows them: drawn by Chart.js (vendored,
static/js/vendor/chart.umd.min.js, through static/js/charts.js) from `config()`, and the same
figures as a table (`header()`, `rows()`) under it and as CSV. Template: console/includes/chart.html.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Chart:
    """One chart and its numbers: `labels` along the x axis, one list of values per dataset."""

    id: str
    title: str
    type: str  # line | bar
    labels: list[str]
    datasets: list[dict] = field(default_factory=list)  # {"label", "data", "type"?, "axis"?}
    description: str = ""
    x_label: str = "Day"  # the first column of the table and the CSV

    @property
    def script_id(self) -> str:
        return f"chart-data-{self.id}"

    def header(self) -> list[str]:
        return [self.x_label, *[d["label"] for d in self.datasets]]

    def rows(self) -> list[list]:
        return [[label, *[d["data"][i] for d in self.datasets]] for i, label in enumerate(self.labels)]

    def config(self) -> dict:
        """What static/js/dashboard.js hands to Chart.js."""
        datasets = [
            {**d, "data": [float(v) if isinstance(v, Decimal) else v for v in d["data"]]}
            for d in self.datasets
        ]
        return {"type": self.type, "labels": self.labels, "datasets": datasets}
