"""GET /api/customers/{id}/achievements                  every achievement with the latest run
GET /api/customers/{id}/achievements/{api_name}/history  every run (progress history), newest first"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from events.api.views import find_or_404
from loyalty import clock
from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.views import ApiView
from loyalty.errors import NotFound, ValidationError
from loyalty.models import Program

from ..models import Achievement, AchievementProgress
from ..progress import customer_rows

ACHIEVEMENTS = inline_serializer(
    "CustomerAchievements",
    {
        "achievements": inline_serializer(
            "CustomerAchievement",
            {
                "name": serializers.CharField(),
                "title": serializers.CharField(),
                "campaign": serializers.CharField(allow_null=True),
                "target": serializers.CharField(),
                "progress": serializers.CharField(),
                "status": serializers.CharField(),
                "startDate": serializers.CharField(allow_null=True),
                "endDate": serializers.CharField(allow_null=True),
                "completionDate": serializers.CharField(allow_null=True),
            },
            many=True,
        )
    },
)
HISTORY = inline_serializer(
    "AchievementHistory",
    {
        "achievement": serializers.CharField(),
        "history": inline_serializer(
            "AchievementRun",
            {
                "progress": serializers.CharField(),
                "status": serializers.CharField(),
                "startDate": serializers.CharField(),
                "endDate": serializers.CharField(allow_null=True),
                "completionDate": serializers.CharField(allow_null=True),
            },
            many=True,
        ),
    },
)
API_NAME = OpenApiParameter("api_name", str, OpenApiParameter.PATH, description="the achievement's API name")


def _module():
    if not Program.current().achievements:
        raise ValidationError("The achievements module is off.", field="achievements")


def run_object(run: AchievementProgress) -> dict:
    return {
        "progress": str(run.progress),
        "status": run.status,
        "startDate": run.start_at.isoformat(),
        "endDate": run.end_at.isoformat() if run.end_at else None,
        "completionDate": run.completed_at.isoformat() if run.completed_at else None,
    }


class CustomerAchievementsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_achievements",
        responses=schema.reads(ACHIEVEMENTS),
        summary="The customer's achievements and progress",
        parameters=[schema.CUSTOMER_REF],
        tags=["achievements"],
    )
    def get(self, request, id):
        _module()
        customer = find_or_404(request, id)
        rows = customer_rows(customer, clock.now())
        return Response(
            {
                "achievements": [
                    {
                        "name": row["achievement"].api_name,
                        "title": row["achievement"].title,
                        "campaign": row["achievement"].campaign or None,
                        "target": str(row["achievement"].target),
                        "progress": str(row["progress"]),
                        "status": row["status"],
                        "startDate": row["run"].start_at.isoformat() if row["run"] else None,
                        "endDate": row["run"].end_at.isoformat()
                        if row["run"] and row["run"].end_at
                        else None,
                        "completionDate": row["run"].completed_at.isoformat()
                        if row["run"] and row["run"].completed_at
                        else None,
                    }
                    for row in rows
                ]
            }
        )


class CustomerAchievementHistoryView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_achievement_history",
        parameters=[schema.CUSTOMER_REF, API_NAME],
        responses=schema.reads(HISTORY),
        summary="Every run of one achievement",
        tags=["achievements"],
    )
    def get(self, request, id, api_name):
        _module()
        customer = find_or_404(request, id)
        achievement = Achievement.objects.filter(api_name=api_name).first()
        if achievement is None:
            raise NotFound(f"No achievement {api_name[:64]!r}.", field="achievement")
        runs = AchievementProgress.objects.filter(customer=customer, achievement=achievement).order_by(
            "-start_at"
        )[:1000]
        return Response({"achievement": achievement.api_name, "history": [run_object(r) for r in runs]})
