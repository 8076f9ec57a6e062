from django.urls import path

from . import views

app_name = "cards"

C = "customer/<str:ref>/"
CARD = C + "card/<str:code>/"

urlpatterns = [
    path("", views.CardListView.as_view(), name="card_list"),
    path("add/", views.CardCreateView.as_view(), name="card_add"),
    path("generate/", views.CardGenerateView.as_view(), name="card_generate"),
    path("import/", views.CardImportView.as_view(), name="card_import"),
    path("settings/", views.CardSettingsView.as_view(), name="card_settings"),
    path(C, views.CustomerCardsView.as_view(), name="customer_cards"),
    path(C + "register/", views.RegisterCardView.as_view(), name="customer_card_register"),
    path(CARD + "unregister/", views.UnregisterCardView.as_view(), name="customer_card_unregister"),
    path(CARD + "transfer/", views.TransferCardView.as_view(), name="customer_card_transfer"),
]
