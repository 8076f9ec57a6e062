"""Filters of the webhook lists (the API would reuse them)."""

import django_filters

from loyalty.choices import Environment
from loyalty.console.filters import SearchFilterSet, yes_no_filter

from .choices import DeliverySource, DeliveryStatus, IncomingStatus
from .models import Delivery, IncomingEndpoint, IncomingRequest, Subscription, TrustedSite


class TrustedSiteFilterSet(SearchFilterSet):
    search_fields = ("name", "url")
    active = yes_no_filter("Active")

    class Meta:
        model = TrustedSite
        fields = ["q", "auth_method", "active"]


class SubscriptionFilterSet(SearchFilterSet):
    search_fields = ("name", "path")
    active = yes_no_filter("Active")

    class Meta:
        model = Subscription
        fields = ["q", "site", "environment", "active"]


class DeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices, empty_label="Any status")
    source = django_filters.ChoiceFilter(choices=DeliverySource.choices, empty_label="Any source")
    action = django_filters.CharFilter(label="Action")
    customer = django_filters.CharFilter(field_name="customer__customer_id", label="Customer ID")
    msg_id = django_filters.CharFilter(label="Webhook ID")

    class Meta:
        model = Delivery
        fields = ["status", "site", "source", "action", "customer", "msg_id"]


class IncomingEndpointFilterSet(SearchFilterSet):
    search_fields = ("name", "action")
    environment = django_filters.ChoiceFilter(choices=Environment.choices, empty_label="Any environment")
    active = yes_no_filter("Active")

    class Meta:
        model = IncomingEndpoint
        fields = ["q", "environment", "active"]


class IncomingRequestFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=IncomingStatus.choices, empty_label="Any status")

    class Meta:
        model = IncomingRequest
        fields = ["endpoint", "status"]
