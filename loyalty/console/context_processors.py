from loyalty.choices import Environment
from loyalty.models import Program

from .navigation import visible_items


def console(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    program = Program.current()
    return {
        "program": program,
        "environment": getattr(request, "environment", Environment.LIVE),
        "environments": Environment.choices,
        "navigation": visible_items(request, program),
    }
