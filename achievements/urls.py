from django.urls import path

from . import views

app_name = "achievements"

urlpatterns = [
    path("", views.AchievementListView.as_view(), name="achievement_list"),
    path("add/", views.AchievementEditView.as_view(), name="achievement_add"),
    path("<int:pk>/", views.AchievementEditView.as_view(), name="achievement_edit"),
    path("customer/<str:ref>/", views.CustomerAchievementsView.as_view(), name="customer_achievements"),
]
