from django.urls import path

from . import views

app_name = "achievements"

A = "achievements/"
C = "customers/<str:ref>/achievements/"

urlpatterns = [
    path(A, views.AchievementListView.as_view(), name="achievement_list"),
    path(A + "add/", views.AchievementEditView.as_view(), name="achievement_add"),
    path(A + "<int:pk>/", views.AchievementEditView.as_view(), name="achievement_edit"),
    path(C, views.CustomerAchievementsView.as_view(), name="customer_achievements"),
]
