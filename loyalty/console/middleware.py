from django.http import HttpRequest

from loyalty.choices import Environment

SESSION_KEY = "console_environment"


class ConsoleRequest(HttpRequest):
    """For type checking only: a request that went through ConsoleEnvironmentMiddleware."""

    environment: str


class ConsoleEnvironmentMiddleware:
    """Sets request.environment: the environment the console user is working in (session)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        value = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        request.environment = value if value in Environment.values else Environment.LIVE
        return self.get_response(request)
