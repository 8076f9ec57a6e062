"""Project-level pages: health check, environment switch, login, the server-error page (the home
page is the dashboard, dashboard.views)."""

import sys

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from loyalty.api import errors
from loyalty.choices import Environment
from loyalty.console.middleware import SESSION_KEY
from loyalty.observability import RETRY_AFTER_SECONDS, current_request_id, database_unavailable


def database_error(db: BaseDatabaseWrapper | None = None) -> str | None:
    """None when the database (the default connection unless given) answers, else the error's name."""
    db = db or connections[DEFAULT_DB_ALIAS]
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any database failure means unhealthy; the name is enough to act on
        return type(error).__name__
    return None


@never_cache
def healthz(request, db: BaseDatabaseWrapper | None = None):
    """For load balancers: 200 when the database answers, 503 otherwise. No login, no session."""
    error = database_error(db)
    if error:
        return JsonResponse({"status": "error", "database": error}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_required
@permission_required("loyalty.view_console", raise_exception=True)
@require_POST
def switch_environment(request):
    """Remember the environment the console works in (session); back to the page it came from."""
    value = request.POST.get("environment")
    if value in Environment.values:
        request.session[SESSION_KEY] = value
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


# The demo's administrator (loyalty/management/commands/seed_demo.py); its weak password is on
# purpose, and the login page says so while it is unchanged.
DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin"
_DEMO_CACHE_KEY = "loyalty:login:demo-hint"


def demo_login_hint() -> str | None:
    """ "Demo install: log in as admin / admin …" while the demo administrator still has the demo
    password; None otherwise. Checked at most once a minute (a password hash is slow)."""
    cached = cache.get(_DEMO_CACHE_KEY)
    if cached is None:
        user = User.objects.filter(username=DEMO_USERNAME, is_active=True).first()
        cached = "yes" if user is not None and user.check_password(DEMO_PASSWORD) else "no"
        cache.set(_DEMO_CACHE_KEY, cached, 60)
    if cached != "yes":
        return None
    return (
        f"Demo install: log in as {DEMO_USERNAME} / {DEMO_PASSWORD} (administrator), or manager, agent, "
        "analyst or approver with their name as the password. Change these passwords before real use."
    )


class ConsoleLoginView(LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "demo_hint": demo_login_hint()}


def server_error(request, *args, **kwargs):
    """handler500 (loyalty.urls), for any exception no view handled, after Django logged it once: the JSON envelope under /api/, the HTML page elsewhere; 503 + Retry-After when the
    database connection is what failed. Touches no database."""
    exc = sys.exc_info()[1]
    request_id = getattr(request, "request_id", None) or current_request_id()
    unavailable = database_unavailable(exc)
    status = 503 if unavailable else 500
    if request.path.startswith("/api/"):
        error = errors.ServiceUnavailable() if unavailable else errors.InternalError()
        response: HttpResponse = JsonResponse(errors.envelope(error), status=status)
    else:
        try:
            body = loader.get_template("500.html").render(
                {"request_id": request_id, "unavailable": unavailable}
            )
        except Exception:  # the page must not fail in turn
            body = f"<h1>Server error</h1><p>Request ID: {request_id}</p>"
        response = HttpResponse(body, status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if request_id:
        response["X-Request-ID"] = request_id
    return response
