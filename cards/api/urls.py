from django.urls import re_path

from . import views

CODE = r"(?P<code>[^/]+)"

urlpatterns = [
    re_path(r"^cards/?$", views.CardCreateView.as_view(), name="cards"),
    re_path(r"^cards/batch/?$", views.CardBatchView.as_view(), name="cards_batch"),
    re_path(r"^cards/export/?$", views.CardExportView.as_view(), name="cards_export"),
    re_path(r"^cards/import/?$", views.CardImportView.as_view(), name="cards_import"),
    re_path(rf"^cards/{CODE}/?$", views.CardDetailView.as_view(), name="card"),
    re_path(rf"^cards/{CODE}/link_profile/?$", views.CardLinkView.as_view(), name="card_link"),
    re_path(rf"^cards/{CODE}/unlink_profile/?$", views.CardUnlinkView.as_view(), name="card_unlink"),
    re_path(rf"^cards/{CODE}/transfer/?$", views.CardTransferView.as_view(), name="card_transfer"),
    re_path(r"^customers/(?P<id>[^/]+)/cards/?$", views.CustomerCardsView.as_view(), name="customer_cards"),
]
