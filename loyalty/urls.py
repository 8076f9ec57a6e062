from django.contrib.auth import views as auth_views
from django.urls import include, path

from loyalty import sandbox_views
from loyalty.console import pages as views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # Staff password reset by e-mail (console e-mail backend by default, SMTP with EMAIL_HOST).
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("environment/", views.switch_environment, name="switch_environment"),
    path("sandbox/clock/", sandbox_views.SandboxClockView.as_view(), name="sandbox_clock"),
    path("api/", include("loyalty.api.urls")),
    path("api-keys/", include("loyalty.api.console_urls")),
    path("settings/", include("loyalty.program_settings.urls")),
    path("changes/", include("loyalty.audit.urls")),
    path("events/", include("events.urls")),
    path("", include("transactions.urls")),
    path("", include("coupons.urls")),
    path("segments/", include("segments.urls")),
    path("", include("workflows.urls")),  # /workflows/... and /customers/<ref>/workflow-logs/
    path("", include("cards.urls")),  # /cards/... and /customers/<ref>/cards/
    path("", include("referrals.urls")),  # /referrals/... and /customers/<ref>/referrals/
    path("", include("budgets.urls")),  # /budgets/... and /customers/<ref>/budgets/
    path("", include("achievements.urls")),  # /achievements/... and /customers/<ref>/achievements/
    path("", include("dataio.urls")),  # /jobs/, /imports/, /exports/
    path("", include("customers.urls")),
]

handler500 = "loyalty.console.pages.server_error"
