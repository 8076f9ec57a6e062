"""Forms of the import wizard and the export page."""

from __future__ import annotations

from django import forms

from coupons.models import CouponPool
from segments.models import CustomerList, Segment, SegmentKind, Status

from . import formats
from .choices import ExportModel, FileFormat, ImportModel, Repeat

DELIMITER_CHOICES = [("", "Detect"), (",", "Comma ,"), (";", "Semicolon ;"), ("|", "Pipe |"), ("\t", "Tab")]
ENCODING_CHOICES = [(e, e) for e in formats.ENCODINGS]


class UploadForm(forms.Form):
    model = forms.ChoiceField(choices=ImportModel.choices, label="Data model")
    file = forms.FileField(help_text="CSV, JSON (an array of objects, or one object per line) or XLSX")
    delimiter = forms.ChoiceField(choices=DELIMITER_CHOICES, required=False, label="Delimiter (CSV)")
    encoding = forms.ChoiceField(choices=ENCODING_CHOICES, initial="utf-8")
    pool = forms.ModelChoiceField(
        queryset=CouponPool.objects.all(), required=False, help_text="for coupon codes: the pool they go into"
    )
    customer_list = forms.ModelChoiceField(
        queryset=CustomerList.objects.filter(status=Status.ACTIVE), required=False, label="Customer list"
    )
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.filter(kind=SegmentKind.STATIC).exclude(status=Status.ARCHIVED),
        required=False,
        label="Static segment",
    )
    earn = forms.BooleanField(
        required=False,
        label="Earn points",
        help_text="historical transactions: the purchases earn points by today's earning rule (by "
        "default they are stored for history and purchase statistics only)",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = formats.max_upload_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes (DATAIO_MAX_UPLOAD_BYTES)."
            )
        try:
            formats.format_of(upload.name or "")
        except formats.FileProblem as problem:
            raise forms.ValidationError(problem.message) from None
        return upload

    def clean(self):
        data = super().clean()
        needs = {
            ImportModel.COUPONS: "pool",
            ImportModel.LIST_MEMBERS: "customer_list",
            ImportModel.SEGMENT_MEMBERS: "segment",
        }.get(data.get("model"))
        if needs and not data.get(needs):
            self.add_error(needs, "Choose where the rows go.")
        return data

    def target(self):
        for name in ("pool", "customer_list", "segment"):
            if (
                self.cleaned_data.get(name)
                and {
                    "pool": ImportModel.COUPONS,
                    "customer_list": ImportModel.LIST_MEMBERS,
                    "segment": ImportModel.SEGMENT_MEMBERS,
                }[name]
                == self.cleaned_data["model"]
            ):
                return self.cleaned_data[name].pk
        return None


class MappingForm(forms.Form):
    """One select per uploaded column: the field it fills ('' = ignore it)."""

    def __init__(
        self, *args, columns: list[str], fields: list[str], initial_mapping: dict, free: bool, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for index, column in enumerate(columns):
            choices = [("", "— ignore this column —")] + [(f, f) for f in fields]
            current = initial_mapping.get(column, "")
            if current and current not in fields:
                choices.append((current, f"{current} (attribute)" if free else current))
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=choices, required=False, label=column, initial=current
            )

    def mapping(self) -> dict:
        return {
            column: self.cleaned_data.get(f"col_{index}", "") for index, column in enumerate(self.columns)
        }


class ExportForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    model = forms.ChoiceField(choices=ExportModel.choices, label="Data model")
    format = forms.ChoiceField(choices=FileFormat.choices, initial=FileFormat.CSV)
    query = forms.CharField(
        required=False,
        max_length=4000,
        label="Customer filter",
        help_text="customers: the customer list's filter (its query string), e.g. f=score:gte:100&segment=3",
    )
    fields = forms.CharField(
        required=False,
        max_length=4000,
        label="Columns",
        help_text="customers: comma-separated column names; empty: the default columns",
    )
    actions = forms.CharField(required=False, max_length=1000, help_text="events: comma-separated actions")
    customer = forms.CharField(required=False, max_length=200, help_text="events: one customer ID")
    date_from = forms.DateTimeField(required=False, help_text="events, transactions, ledger (UTC)")
    date_to = forms.DateTimeField(required=False, help_text="events, transactions, ledger (UTC), exclusive")
    date_format = forms.ChoiceField(
        choices=[
            ("iso", "ISO 8601 (UTC)"),
            ("ymd_hms", "2026-11-29 13:45:00 (UTC)"),
            ("dmy_hms", "29/11/2026 13:45:00 (UTC)"),
            ("unix", "Unix seconds"),
        ],
        initial="iso",
    )
    repeat = forms.ChoiceField(choices=Repeat.choices, required=False, label="Repeat")
    repeat_time = forms.TimeField(required=False, help_text="repeated exports: time of day (UTC), e.g. 03:00")

    def params(self) -> dict:
        data = self.cleaned_data
        params: dict = {"date_format": data["date_format"]}
        if data.get("query"):
            params["query"] = data["query"].lstrip("?")
        if data.get("fields"):
            params["fields"] = [f.strip() for f in data["fields"].split(",") if f.strip()]
        if data.get("actions"):
            params["actions"] = [a.strip() for a in data["actions"].split(",") if a.strip()]
        if data.get("customer"):
            params["customer"] = data["customer"].strip()
        for key in ("date_from", "date_to"):
            if data.get(key):
                params[key] = data[key].isoformat()
        return params
