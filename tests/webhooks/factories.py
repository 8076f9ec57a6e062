"""factory_boy factories of the webhook rows (configuration and logs)."""

import factory
from django.utils import timezone

from webhooks.models import Delivery, IncomingEndpoint, IncomingRequest, Subscription, TrustedSite


class TrustedSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrustedSite

    name = factory.Sequence(lambda n: f"Site {n}")
    url = factory.Sequence(lambda n: f"https://93.184.215.14/site-{n}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    name = factory.Sequence(lambda n: f"Subscription {n}")
    site = factory.SubFactory(TrustedSiteFactory)
    actions = ["point_add"]


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    site = factory.SubFactory(TrustedSiteFactory)
    source = "workflow"
    action = factory.Sequence(lambda n: f"action_{n}")
    msg_id = factory.Sequence(lambda n: f"msg_{n:08d}")
    body = "{}"
    created_at = factory.LazyFunction(timezone.now)


class IncomingEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncomingEndpoint

    name = factory.Sequence(lambda n: f"hook-{n}")
    action = "point_add"
    customer_expression = "body.customer"


class IncomingRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncomingRequest

    endpoint = factory.SubFactory(IncomingEndpointFactory)
    received_at = factory.LazyFunction(timezone.now)
    method = "POST"
    status = "refused"
    http_status = 401
    reason = factory.Sequence(lambda n: f"reason {n}")
