from django.urls import path

from . import session_views, views

app_name = "transactions"

# Mounted at the site root: transactions under /transactions/, the customer's tab under the
# profile, /customers/<ref>/transactions/ (every profile tab lives under /customers/<ref>/).
T = "transactions/"

urlpatterns = [
    path(T, views.TransactionListView.as_view(), name="transaction_list"),
    path(T + "<int:pk>/", views.TransactionDetailView.as_view(), name="transaction_detail"),
    path(T + "<int:pk>/accept/", views.AcceptView.as_view(), name="transaction_accept"),
    path(T + "<int:pk>/reject/", views.RejectView.as_view(), name="transaction_reject"),
    path(T + "<int:pk>/refund/", views.RefundView.as_view(), name="transaction_refund"),
    path(
        T + "<int:pk>/partial-refund/", views.PartialRefundView.as_view(), name="transaction_partial_refund"
    ),
    path(
        "customers/<str:ref>/transactions/",
        views.CustomerTransactionsView.as_view(),
        name="customer_transactions",
    ),
    path(T + "earning-rules/", views.EarningRuleListView.as_view(), name="earning_rule_list"),
    path(T + "earning-rules/add/", views.EarningRuleEditView.as_view(), name="earning_rule_add"),
    path(T + "earning-rules/<int:pk>/", views.EarningRuleEditView.as_view(), name="earning_rule_edit"),
    # 003's Sessions tab and Return items
    path(
        "customers/<str:ref>/sessions/",
        session_views.CustomerSessionsView.as_view(),
        name="customer_sessions",
    ),
    path(
        "customers/<str:ref>/sessions/export/",
        session_views.CustomerSessionsExportView.as_view(),
        name="customer_sessions_export",
    ),
    path(
        "customers/<str:ref>/sessions/<int:pk>/return/",
        session_views.ReturnItemsView.as_view(),
        name="customer_return_items",
    ),
]
