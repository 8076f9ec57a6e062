"""The integration API under /api/. Paths are the reference's; a trailing slash is optional."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from achievements.api import urls as achievement_api
from budgets.api import urls as budget_api
from cards.api import urls as card_api
from coupons.api import urls as coupon_api
from customers.api import display as customer_display
from customers.api import ledgers
from customers.api import views as customers
from dataio.api import urls as dataio_api
from events.api import asynchronous as async_events
from events.api import views as events
from referrals.api import urls as referral_api
from segments.api import views as segments
from transactions.api import sessions as session_api
from transactions.api import views as transactions
from webhooks import api as webhook_api
from workflows.api import urls as workflow_api

from . import sandbox, views

app_name = "api"

REF = r"(?P<id>[^/]+)"

urlpatterns = [
    re_path(r"^events/?$", events.EventCreateView.as_view(), name="events"),
    re_path(r"^events/bulk/?$", events.EventBulkView.as_view(), name="events_bulk"),
    re_path(r"^v1/async/events/?$", async_events.AsyncEventCreateView.as_view(), name="async_events"),
    re_path(
        r"^v1/async/events/(?P<correlation_id>[^/]+)/?$",
        async_events.AsyncEventStatusView.as_view(),
        name="async_event",
    ),
    re_path(r"^customers/?$", customers.CustomerSearchView.as_view(), name="customer_search"),
    re_path(r"^customers/-/login/?$", customer_display.LoginView.as_view(), name="customer_login"),
    re_path(r"^customers/-/verify/?$", customer_display.VerifyView.as_view(), name="customer_verify"),
    re_path(
        r"^customers/-/password/request/?$",
        customer_display.PasswordRequestView.as_view(),
        name="customer_password_request",
    ),
    re_path(
        r"^customers/-/password/reset/?$",
        customer_display.PasswordResetView.as_view(),
        name="customer_password_reset",
    ),
    re_path(r"^customers/-/count/?$", customers.CustomerCountView.as_view(), name="customer_count"),
    re_path(r"^customers/-/events/?$", events.EnvironmentEventsView.as_view(), name="environment_events"),
    re_path(rf"^customers/{REF}/?$", customers.CustomerDetailView.as_view(), name="customer"),
    re_path(rf"^customers/{REF}/events/?$", events.CustomerEventsView.as_view(), name="customer_events"),
    re_path(rf"^customers/{REF}/history/?$", events.CustomerHistoryView.as_view(), name="customer_history"),
    re_path(rf"^customers/{REF}/points/?$", customers.CustomerPointsView.as_view(), name="customer_points"),
    re_path(
        rf"^customers/{REF}/transactions/?$",
        transactions.CustomerTransactionsView.as_view(),
        name="transactions",
    ),
    re_path(
        rf"^customers/{REF}/transactions/-/search/?$",
        transactions.CustomerTransactionSearchView.as_view(),
        name="transaction_search",
    ),
    re_path(
        rf"^customers/{REF}/transactions/(?P<transaction_id>[^/]+)/?$",
        transactions.CustomerTransactionView.as_view(),
        name="transaction",
    ),
    re_path(
        rf"^customers/{REF}/transactions/(?P<transaction_id>[^/]+)/events/?$",
        transactions.CustomerTransactionEventsView.as_view(),
        name="transaction_events",
    ),
    re_path(rf"^customers/{REF}/merge/?$", customers.CustomerMergeView.as_view(), name="customer_merge"),
    re_path(rf"^customers/{REF}/opt-in/?$", customers.CustomerOptInView.as_view(), name="customer_opt_in"),
    # ledgers and subledgers (Talon.One profile)
    re_path(rf"^customers/{REF}/ledgers/?$", ledgers.CustomerLedgersView.as_view(), name="customer_ledgers"),
    re_path(
        rf"^customers/{REF}/ledgers/transactions/?$",
        ledgers.CustomerLedgerTransactionsView.as_view(),
        name="customer_ledger_transactions",
    ),
    re_path(
        rf"^customers/{REF}/ledgers/export_log/?$",
        ledgers.CustomerLedgerExportView.as_view(),
        name="customer_ledger_export_log",
    ),
    re_path(r"^entities/?$", customers.EntitiesView.as_view(), name="entities"),
    re_path(
        r"^extensions/automation/campaign-bonus/?$",
        transactions.PointsPreviewView.as_view(),
        name="points_preview",
    ),
    re_path(r"^ping/?$", views.PingView.as_view(), name="ping"),
    re_path(r"^sandbox/clock/?$", sandbox.SandboxClockView.as_view(), name="sandbox_clock"),
    path("status", views.trivial_view, name="status"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    # The split view serves Swagger UI's start script as a file: no inline script, so the page
    # works under the Content-Security-Policy (script-src 'self').
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    *card_api.urlpatterns,  # loyalty cards
    *dataio_api.urlpatterns,  # imports and exports
    *referral_api.urlpatterns,  # referral codes
    *budget_api.urlpatterns,  # budgets
    *workflow_api.urlpatterns,  # workflows
    *achievement_api.urlpatterns,  # achievements
    re_path(r"^sessions/export/?$", session_api.SessionExportView.as_view(), name="sessions_export"),
    re_path(r"^hooks/(?P<name>[-a-zA-Z0-9_]+)/?$", webhook_api.receive, name="incoming_webhook"),
    *coupon_api.urlpatterns,  # rewards, claims, coupons, redemption by code
    # Segments and customer lists (reference paths for lists and bulk operations)
    re_path(r"^segments/?$", segments.SegmentListView.as_view(), name="segment_list"),
    re_path(r"^segments/(?P<id>[^/]+)/?$", segments.SegmentDetailView.as_view(), name="segment"),
    re_path(
        r"^segments/(?P<id>[^/]+)/members/?$", segments.SegmentMembersView.as_view(), name="segment_members"
    ),
    re_path(r"^entities/core/customer-list/?$", segments.CustomerListsView.as_view(), name="customer_lists"),
    re_path(
        r"^entities/core/customer-list/(?P<entity_id>[^/]+)/?$",
        segments.CustomerListEntityView.as_view(),
        name="customer_list",
    ),
    re_path(
        r"^v1/bulk-operation/customer-list/(?P<operation>add|remove)/(?P<customer_list_id>[^/]+)/?$",
        segments.BulkCreateView.as_view(),
        name="customer_list_bulk",
    ),
    re_path(
        r"^v1/bulk-operation/customer-list/(?P<batch_id>[^/]+)/status/?$",
        segments.BulkStatusView.as_view(),
        name="customer_list_bulk_status",
    ),
    re_path(
        r"^v1/bulk-operation/customer-list/(?P<batch_id>[^/]+)/status/errors/?$",
        segments.BulkErrorsView.as_view(),
        name="customer_list_bulk_errors",
    ),
    re_path(r"^(?P<path>[\s\S]*)$", views.not_found, name="not_found"),  # any path, newlines too
]
