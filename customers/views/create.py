""" "Create customer" on the Customers page: an `opt_in` registered through the
engine by the console user (source platform, change log), with the custom fields."""

from __future__ import annotations

from django.urls import reverse

from customers.forms import CreateCustomerForm
from customers.lookup import find_customer
from loyalty.audit.changes import register_change
from loyalty.console.views import ReasonActionView
from loyalty.errors import ValidationError


class CustomerCreateView(ReasonActionView):
    permission_required = "loyalty.change_customer_profile"
    form_class = CreateCustomerForm
    title = "Create customer"
    submit_label = "Create customer"

    def get_cancel_url(self) -> str:
        return reverse("customers:customer_list")

    def perform(self, form) -> str:
        customer_id = form.cleaned_data["customer_id"]
        environment = self.request.environment
        if find_customer(environment, customer_id) is not None:
            raise ValidationError("A customer with this ID exists already.", field="customer_id")
        result = register_change(
            user=self.request.user,
            customer=customer_id,
            environment=environment,
            action="opt_in",
            data=form.event_data(),
            reason=form.cleaned_data["reason"],
        )
        self.created = result.customer
        return f"Customer {customer_id} created."

    def get_success_url(self) -> str:
        return reverse("customers:customer_overview", kwargs={"ref": self.created.customer_id})
