import django_filters
from django import forms

from loyalty.models import PointAccount

from .choices import TransactionStatus
from .models import EarningRule, Transaction


class CustomerTransactionFilterSet(django_filters.FilterSet):
    """The profile tab's filters (000: transaction ID, status, account)."""

    transaction_id = django_filters.CharFilter(label="Transaction ID")
    status = django_filters.ChoiceFilter(choices=TransactionStatus.choices)
    account = django_filters.ModelChoiceFilter(queryset=PointAccount.objects.all(), label="Account")

    class Meta:
        model = Transaction
        fields = ["transaction_id", "status", "account"]


class TransactionFilterSet(CustomerTransactionFilterSet):
    """The program-wide list: the same filters plus the customer ID."""

    customer = django_filters.CharFilter(field_name="customer__customer_id", label="Customer ID")

    class Meta(CustomerTransactionFilterSet.Meta):
        fields = ["transaction_id", "customer", "status", "account"]


class EarningRuleFilterSet(django_filters.FilterSet):
    class Meta:
        model = EarningRule
        fields = ["active"]


def _no_nul(value):
    if value and "\x00" in value:
        raise forms.ValidationError("The value contains a NUL character.")


class ApiTransactionFilterSet(CustomerTransactionFilterSet):
    """`GET /api/customers/{id}/transactions`: the profile tab's filters, the account by its code
    (as the API names accounts everywhere). An unknown status or account is a 400."""

    transaction_id = django_filters.CharFilter(strip=False, validators=[_no_nul])
    account = django_filters.ModelChoiceFilter(queryset=PointAccount.objects.all(), to_field_name="code")

    class Meta(CustomerTransactionFilterSet.Meta):
        pass
