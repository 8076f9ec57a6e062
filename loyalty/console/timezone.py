"""Console dates in the program's time zone.

With the program's zone active, Django reads the console's date and date-time pickers (naive
values: point expiration, pools, rewards, report and filter ranges) in that zone and templates
show local dates, as the Settings page promises ("Dates in the console use this time zone").
"""

import datetime as dt

from django.db import DatabaseError
from django.utils import timezone

from loyalty import clock


class ProgramTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):  # the API reads dates through events.validation
            return self.get_response(request)
        try:
            zone = clock.zone()
        except DatabaseError:  # the health check must answer without the database
            zone = dt.UTC
        with timezone.override(zone):
            return self.get_response(request)
