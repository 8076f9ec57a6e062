"""003's Attributes tab: every attribute that exists for this customer, with its value
(built-in attributes with a value, then each custom field definition, then labels)."""

from __future__ import annotations

from customers.fields import custom_fields
from customers.models import BUILTIN_ATTRIBUTES

from .base import CustomerTabView


class CustomerAttributesView(CustomerTabView):
    active_tab = "customers:customer_attributes"
    template_name = "customers/customer_attributes.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.object
        rows = []
        for name in BUILTIN_ATTRIBUTES:
            value = getattr(customer, name, None)
            if value not in (None, ""):
                rows.append({"name": name, "kind": "built-in", "value": value})
        custom = customer.custom or {}
        for name, field in custom_fields().items():  # display order
            rows.append({"name": name, "kind": field.get_type_display(), "value": custom.get(name)})
        labels = [label.name for label in customer.labels.all()]
        if labels:
            rows.append({"name": "labels", "kind": "built-in", "value": ", ".join(labels)})
        context["rows"] = rows
        return context
