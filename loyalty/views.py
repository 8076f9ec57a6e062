from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from loyalty.choices import Environment
from loyalty.console.middleware import SESSION_KEY


def healthz(request):
    """For load balancers: 200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any database failure means unhealthy
        return JsonResponse({"status": "error", "database": type(error).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_required
def home(request):
    try:
        return HttpResponseRedirect(reverse("customers:customer_list"))
    except NoReverseMatch:
        return HttpResponseRedirect(reverse("settings:program"))


@login_required
@require_POST
def switch_environment(request):
    value = request.POST.get("environment")
    if value in Environment.values:
        request.session[SESSION_KEY] = value
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)
