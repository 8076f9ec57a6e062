from django.urls import path

from . import views

app_name = "cards"

A = "cards/"
C = "customers/<str:ref>/cards/"
CARD = C + "card/<str:code>/"

urlpatterns = [
    path(A, views.CardListView.as_view(), name="card_list"),
    path(A + "add/", views.CardCreateView.as_view(), name="card_add"),
    path(A + "generate/", views.CardGenerateView.as_view(), name="card_generate"),
    path(A + "import/", views.CardImportView.as_view(), name="card_import"),
    path(A + "settings/", views.CardSettingsView.as_view(), name="card_settings"),
    path(A + "export/", views.CardExportView.as_view(), name="card_export"),
    path(C, views.CustomerCardsView.as_view(), name="customer_cards"),
    path(C + "register/", views.RegisterCardView.as_view(), name="customer_card_register"),
    path(CARD + "unregister/", views.UnregisterCardView.as_view(), name="customer_card_unregister"),
    path(CARD + "transfer/", views.TransferCardView.as_view(), name="customer_card_transfer"),
    path(CARD + "status/", views.CardStatusView.as_view(), name="customer_card_status"),
]
