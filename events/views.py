"""Console pages for event definitions: the custom events and built-in extensions (editable with
`loyalty.manage_settings`) and, read-only beside them, the catalog of built-in actions."""

from django.db import transaction
from django.urls import reverse_lazy

from loyalty.audit.log import record
from loyalty.console.views import ObjectEditView, ObjectListView

from . import catalog
from .definitions import BUILTIN_ACTIONS
from .forms import AttributeFormSet, EventDefinitionForm
from .models import EventDefinition
from .tables import EventDefinitionFilterSet, EventDefinitionTable

MANAGE = "loyalty.manage_settings"


class EventDefinitionListView(ObjectListView):
    permission_required = "loyalty.view_console"
    template_name = "events/definition_list.html"
    queryset = EventDefinition.objects.prefetch_related("attributes")
    filterset_class = EventDefinitionFilterSet
    table_class = EventDefinitionTable
    title = "Events"
    actions = [("New event definition", "events:definition_add", MANAGE)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["builtin_actions"] = sorted(BUILTIN_ACTIONS.values(), key=lambda spec: spec.action)
        return context


class EventDefinitionEditView(ObjectEditView):
    """A definition and its attributes (inline formset), saved together."""

    permission_required = MANAGE
    model = EventDefinition
    form_class = EventDefinitionForm
    template_name = "events/definition_form.html"
    success_url = reverse_lazy("events:definition_list")
    title_create = "New event definition"

    def get_formset(self, instance=None):
        data = self.request.POST if self.request.method == "POST" else None
        return AttributeFormSet(
            data, instance=instance or self.object or EventDefinition(), prefix="attributes"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("attributes", self.get_formset())
        return context

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = self.get_form()
        # The formset checks names against the built-in action the form names.
        instance = form.instance if form.is_valid() else (self.object or EventDefinition())
        attributes = self.get_formset(instance)
        if form.is_valid() and attributes.is_valid():
            self.attributes = attributes
            return self.form_valid(form)
        return self.render_to_response(self.get_context_data(form=form, attributes=attributes))

    def save(self, form):
        created = form.instance.pk is None
        with transaction.atomic():
            definition = form.save()
            self.attributes.instance = definition
            self.attributes.save()
            self._log(form, definition, created)
        return definition

    def after_save(self, obj):
        catalog.clear_cache()

    def _log(self, form, definition, created):

        record(
            user=self.request.user,
            action=f"event_definition_{'create' if created else 'change'}",
            environment=getattr(self.request, "environment", "live"),
            object_repr=f"event definition: {definition.action}",
            after={
                **{name: form.cleaned_data.get(name) for name in form.changed_data},
                "attributes": [
                    f"{a.name}:{a.type}{'*' if a.required else ''}" for a in definition.attributes.all()
                ],
            },
        )
