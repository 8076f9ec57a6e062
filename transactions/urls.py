from django.urls import path

from . import session_views, views

app_name = "transactions"

urlpatterns = [
    path("", views.TransactionListView.as_view(), name="transaction_list"),
    path("<int:pk>/", views.TransactionDetailView.as_view(), name="transaction_detail"),
    path("<int:pk>/accept/", views.AcceptView.as_view(), name="transaction_accept"),
    path("<int:pk>/reject/", views.RejectView.as_view(), name="transaction_reject"),
    path("<int:pk>/refund/", views.RefundView.as_view(), name="transaction_refund"),
    path("<int:pk>/partial-refund/", views.PartialRefundView.as_view(), name="transaction_partial_refund"),
    path("customer/<str:ref>/", views.CustomerTransactionsView.as_view(), name="customer_transactions"),
    # Issue 20: 003's Sessions tab and Return items
    path(
        "customer/<str:ref>/sessions/", session_views.CustomerSessionsView.as_view(), name="customer_sessions"
    ),
    path(
        "customer/<str:ref>/sessions/<int:pk>/return/",
        session_views.ReturnItemsView.as_view(),
        name="customer_return_items",
    ),
    path("earning-rules/", views.EarningRuleListView.as_view(), name="earning_rule_list"),
    path("earning-rules/add/", views.EarningRuleEditView.as_view(), name="earning_rule_add"),
    path("earning-rules/<int:pk>/", views.EarningRuleEditView.as_view(), name="earning_rule_edit"),
]
