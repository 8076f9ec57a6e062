"""The Personal information tab: a form of every attribute; saving registers a `profile` event
with only the changed attributes (labels included)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect

from customers.fields import attribute_labels
from customers.forms import PersonalInfoForm
from events.permissions import may_register
from loyalty.audit.changes import register_change
from loyalty.errors import EngineError

from .base import CustomerTabView


class CustomerPersonalView(CustomerTabView):
    active_tab = "customers:customer_personal"
    template_name = "customers/customer_personal.html"

    def can_edit(self) -> bool:
        return may_register(self.request.user, "profile") and not self.object.anonymized_at

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        form = form or PersonalInfoForm(customer=self.object)
        if not self.can_edit():
            for field in form.fields.values():
                field.disabled = True
        context.update({"form": form, "can_edit": self.can_edit(), "custom_values": self.object.custom or {}})
        return context

    def post(self, request, *args, **kwargs):
        self.object = customer = self.get_object()
        if not self.can_edit():
            raise PermissionDenied
        form = PersonalInfoForm(request.POST, customer=customer)
        if form.is_valid():
            changes = form.changes()
            if not changes:
                messages.info(request, "Nothing changed.")
                return HttpResponseRedirect(request.path)
            try:
                register_change(
                    user=request.user,
                    customer=customer,
                    action="profile",
                    data=changes,
                    reason=form.cleaned_data["reason"],
                    before=form.before(changes),
                    after=changes,
                )
            except EngineError as error:
                field = (error.field or "").split(".")[-1]
                if field in form.fields:
                    form.add_error(field, error.message)
                elif f"custom_{field}" in form.fields:
                    form.add_error(f"custom_{field}", error.message)
                else:
                    form.add_error(None, error.message)
            else:
                labels = attribute_labels(sorted(changes))
                messages.success(request, f"Saved: {', '.join(labels.values())}.")
                return HttpResponseRedirect(request.path)
        return self.render_to_response(self.get_context_data(form=form))
