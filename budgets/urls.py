from django.urls import path

from . import views

app_name = "budgets"

urlpatterns = [
    path("", views.BudgetListView.as_view(), name="budget_list"),
    path("add/", views.BudgetEditView.as_view(), name="budget_add"),
    path("<int:pk>/", views.BudgetEditView.as_view(), name="budget_edit"),
    path("customer/<str:ref>/", views.CustomerBudgetsView.as_view(), name="customer_budgets"),
]
