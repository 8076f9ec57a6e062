"""Console forms for custom event definitions and their attributes."""

from django import forms

from loyalty.console.forms import rows_not_on_the_page

from .definitions import BUILTIN_ACTIONS
from .models import EventAttribute, EventDefinition

# The default attributes every event has (002); a definition's attribute may not shadow them.
RESERVED_ATTRIBUTES = {
    "_id",
    "action",
    "label",
    "date",
    "timestamp",
    "customer",
    "points",
    "ip_address",
    "source",
    "user_agent",
    "admin",
    "workflow",
    "data",
    "account",
    "external_id",
}


class EventDefinitionForm(forms.ModelForm):
    class Meta:
        model = EventDefinition
        fields = ["action", "label", "points", "one_time", "builtin_extension", "active"]
        labels = {"action": "Name (action)", "builtin_extension": "Extends a built-in action"}
        help_texts = {
            "action": "The `action` integrations send. Cannot be changed later.",
            "points": "Points the customer earns each time the event is registered (custom events only).",
            "one_time": "Once per customer lifetime: a repeat is refused (error 10001).",
            "builtin_extension": (
                "Tick to add attributes to the built-in, non-internal action of this name "
                "(for example profile); its effects stay the built-in ones."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["action"].disabled = True

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("builtin_extension") and cleaned.get("points"):
            self.add_error("points", "A built-in action's points come from its own rules; leave this 0.")
        return cleaned


class EventAttributeForm(forms.ModelForm):
    class Meta:
        model = EventAttribute
        fields = ["name", "type", "required"]
        # The formset shows its rows as a table under one header row: each control is named.
        widgets = {
            "name": forms.TextInput(attrs={"aria-label": "Attribute name"}),
            "type": forms.Select(attrs={"aria-label": "Attribute type"}),
            "required": forms.CheckboxInput(attrs={"aria-label": "Required"}),
        }

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name in RESERVED_ATTRIBUTES:
            raise forms.ValidationError(f"“{name}” is a default event attribute.")
        return name


class BaseAttributeFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(form.errors for form in self.forms):
            return
        names = {saved.name for saved in rows_not_on_the_page(self)}
        builtin = BUILTIN_ACTIONS.get(getattr(self.instance, "action", "") or "")
        for form in self.forms:
            if not form.has_changed() or (self.can_delete and form.cleaned_data.get("DELETE")):
                continue
            name = form.cleaned_data.get("name")
            if name in names:
                raise forms.ValidationError(
                    f"The attribute “{name}” is listed twice (perhaps saved since this page was loaded:"
                    " reload it to see)."
                )
            if builtin is not None and builtin.attribute(name) is not None:
                raise forms.ValidationError(f"“{name}” is already an attribute of the built-in action.")
            names.add(name)


AttributeFormSet = forms.inlineformset_factory(
    EventDefinition,
    EventAttribute,
    form=EventAttributeForm,
    formset=BaseAttributeFormSet,
    extra=3,
    can_delete=True,
)
