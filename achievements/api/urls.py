from django.urls import re_path

from . import views

urlpatterns = [
    re_path(
        r"^customers/(?P<id>[^/]+)/achievements/?$",
        views.CustomerAchievementsView.as_view(),
        name="customer_achievements",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/achievements/(?P<api_name>[^/]+)/history/?$",
        views.CustomerAchievementHistoryView.as_view(),
        name="customer_achievement_history",
    ),
]
