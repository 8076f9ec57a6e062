from django.urls import path

from . import views

app_name = "budgets"

A = "budgets/"
C = "customers/<str:ref>/budgets/"

urlpatterns = [
    path(A, views.BudgetListView.as_view(), name="budget_list"),
    path(A + "add/", views.BudgetEditView.as_view(), name="budget_add"),
    path(A + "<int:pk>/", views.BudgetEditView.as_view(), name="budget_edit"),
    path(C, views.CustomerBudgetsView.as_view(), name="customer_budgets"),
]
