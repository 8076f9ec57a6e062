from django.urls import re_path

from . import views

urlpatterns = [
    re_path(
        r"^customers/(?P<id>[^/]+)/budgets/?$", views.CustomerBudgetsView.as_view(), name="customer_budgets"
    ),
]
