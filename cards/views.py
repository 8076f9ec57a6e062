"""Loyalty cards console: the card list with Generate / Import / New card and settings; the
customer's Loyalty cards tab (003: code, status, registered) with Register, Unregister and
Transfer, each with a required reason through the engine."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy
from django.views.generic import FormView, View

from customers.views.actions import CustomerActionView
from customers.views.base import CustomerTabView
from loyalty.console.views import ConsoleView, ObjectEditView, ObjectListView
from loyalty.errors import EngineError
from loyalty.models import Program

from . import cards, exports
from .choices import CardStatus
from .filtersets import CardFilterSet
from .forms import (
    CardForm,
    CardSettingsForm,
    CardStatusForm,
    GenerateCardsForm,
    ImportCardsForm,
    RegisterCardForm,
    TransferCardForm,
)
from .models import CardRegistration, CardSettings, LoyaltyCard
from .tables import CardTable, CustomerCardTable

MODULE = "loyalty_cards"
TAB = "cards:customer_cards"


class ModuleRequired:
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Program.current().loyalty_cards:
            raise Http404("The loyalty cards module is off.")
        return super().dispatch(request, *args, **kwargs)


class CardListView(ModuleRequired, ObjectListView):
    title = "Loyalty cards"
    filterset_class = CardFilterSet
    table_class = CardTable
    actions = [
        ("New card", "cards:card_add", "loyalty.manage_catalog"),
        ("Generate cards", "cards:card_generate", "loyalty.manage_catalog"),
        ("Import cards", "cards:card_import", "loyalty.manage_catalog"),
        ("Card settings", "cards:card_settings", "loyalty.manage_settings"),
        ("Export cards", "cards:card_export", "loyalty.export_data"),
    ]

    def get_queryset(self):
        return LoyaltyCard.objects.filter(environment=self.request.environment).order_by("-id")


class CardCatalogFormView(ModuleRequired, ConsoleView, FormView):
    permission_required = "loyalty.manage_catalog"
    template_name = "cards/card_form.html"
    title = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=self.title, cancel_url=reverse("cards:card_list"))
        return context

    def form_valid(self, form):
        try:
            message = self.perform(form)
        except EngineError as error:
            field = (error.field or "").split(".")[-1]
            form.add_error(field if field in form.fields else None, error.message)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return HttpResponseRedirect(reverse("cards:card_list"))


class CardCreateView(CardCatalogFormView):
    form_class = CardForm
    title = "New loyalty card"

    def perform(self, form):
        card = cards.create_card(
            self.request.environment, form.cleaned_data["code"], status=form.cleaned_data["status"]
        )
        return f"Card {card.code} created."


class CardGenerateView(CardCatalogFormView):
    form_class = GenerateCardsForm
    title = "Generate loyalty cards"

    def perform(self, form):
        batch_id, codes = cards.generate_batch(
            self.request.environment, form.cleaned_data["count"], status=form.cleaned_data["status"]
        )
        return f"{len(codes)} cards generated (batch {batch_id})."


class CardImportView(CardCatalogFormView):
    form_class = ImportCardsForm
    title = "Import loyalty cards"

    def perform(self, form):
        upload = form.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            raise cards.ValidationError("The file may be at most 20 MB.", field="file")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise cards.ValidationError("The file is not UTF-8 text.", field="file") from None
        return f"{cards.import_cards(self.request.environment, text)} cards imported."


class CardSettingsView(ModuleRequired, ObjectEditView):
    model = CardSettings
    form_class = CardSettingsForm
    permission_required = "loyalty.manage_settings"
    success_url = reverse_lazy("cards:card_list")
    title_edit = "Card settings"

    def get_object(self, queryset=None):
        return CardSettings.current()


class CustomerCardsView(CustomerTabView):
    active_tab = TAB
    template_name = "cards/customer_cards.html"

    def get(self, request, *args, **kwargs):
        if not Program.current().loyalty_cards:
            raise Http404("The loyalty cards module is off.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        registrations = CardRegistration.objects.filter(customer=self.object).select_related("card")
        context["table"] = self.paginate_table(CustomerCardTable(registrations))
        context["registrations"] = [r for r in registrations[:50] if r.card.status != CardStatus.BLOCKED]
        return context


class CardActionView(CustomerActionView):
    permission_required = "loyalty.manage_customer_status"
    module = MODULE
    success_tab = TAB
    event_action = ""

    def get_cancel_url(self):
        return self.customer_url(TAB)

    def registration(self) -> CardRegistration:
        return get_object_or_404(
            CardRegistration.objects.select_related("card"),
            customer=self.customer,
            card__code=self.kwargs["code"],
        )

    def event_data(self, form) -> dict:
        return {"card": self.kwargs["code"]}


class RegisterCardView(CardActionView):
    form_class = RegisterCardForm
    event_action = "card_register"
    title = "Register loyalty card"

    def event_data(self, form):
        return {"card": form.cleaned_data["card"]}


class UnregisterCardView(CardActionView):
    event_action = "card_unregister"
    title = "Unregister loyalty card"
    danger = True

    def get_context_data(self, **kwargs):
        self.registration()
        return super().get_context_data(**kwargs)


class TransferCardView(CardActionView):
    form_class = TransferCardForm
    event_action = "card_transfer"
    title = "Transfer to a new card"
    confirm_text = "The new card takes over every customer of this card; this card is blocked permanently."
    danger = True

    def get_context_data(self, **kwargs):
        self.registration()
        return super().get_context_data(**kwargs)

    def event_data(self, form):
        return {"card": self.kwargs["code"], "new_card": form.cleaned_data["new_card"]}


class CardStatusView(CardActionView):
    form_class = CardStatusForm
    event_action = "card_status_change"
    title = "Change card status"
    submit_label = "Change card status"
    confirm_text = "A blocked card stays blocked for good: it can no longer be registered or transferred."

    def get_context_data(self, **kwargs):
        self.registration()
        return super().get_context_data(**kwargs)

    def get_initial(self):
        return {"status": self.registration().card.status}

    def event_data(self, form):
        return {"card": self.kwargs["code"], "status": form.cleaned_data["status"]}


class CardExportView(ModuleRequired, ConsoleView, View):
    """The card list's CSV (cards.exports: Talon.One's card export columns, timestamps in UTC)."""

    permission_required = "loyalty.export_data"

    def get(self, request, *args, **kwargs):
        response = StreamingHttpResponse(
            exports.export_csv(request.environment, batch_id=request.GET.get("batch", "")[:64]),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="loyalty-cards.csv"'
        return response
