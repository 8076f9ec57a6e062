from django.db import models


class AuthMethod(models.TextChoices):
    """How a trusted site authenticates our requests (the reference's Basic, AWS, JWT and OAuth,
    plus a bearer token and the Standard Webhooks HMAC signature). The reference's AWS-S3 is not
    offered: it writes each message as a file into an S3 bucket (docs/user-guide/webhooks.md)."""

    NONE = "none", "None"
    BASIC = "basic", "Basic"
    BEARER = "bearer", "Bearer token"
    JWT = "jwt", "JWT"
    AWS = "aws", "AWS (Signature Version 4)"
    OAUTH = "oauth", "OAuth 2.0 (client credentials)"
    STANDARD_WEBHOOKS = "standard_webhooks", "HMAC signature (Standard Webhooks)"


class JwtAlgorithm(models.TextChoices):
    HS256 = "HS256", "HS256 (shared secret)"
    RS256 = "RS256", "RS256 (private key)"


class ContentType(models.TextChoices):
    JSON = "application/json", "application/json"
    FORM = "application/x-www-form-urlencoded", "application/x-www-form-urlencoded"


class DeliveryStatus(models.TextChoices):
    """The reference's log statuses (Queued, Resent -> retrying, Failed, Done)."""

    QUEUED = "queued", "Queued"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    DONE = "done", "Done"


PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.RETRYING)


class DeliverySource(models.TextChoices):
    SUBSCRIPTION = "subscription", "Subscription"
    WORKFLOW = "workflow", "Workflow"
    RESYNC = "resync", "Resync"


class IncomingAuth(models.TextChoices):
    """How an incoming webhook endpoint checks its caller."""

    STANDARD_WEBHOOKS = "standard_webhooks", "HMAC signature (Standard Webhooks)"
    HEADER_HMAC = "header_hmac", "HMAC signature in a header"
    BEARER = "bearer", "Bearer token"
    STATIC_TOKEN = "static_token", "Static token (header or body attribute)"
    NONE = "none", "None (filters only)"


class HmacAlgorithm(models.TextChoices):
    SHA256 = "sha256", "SHA-256"
    SHA512 = "sha512", "SHA-512"
    SHA1 = "sha1", "SHA-1 (legacy senders)"


class HmacEncoding(models.TextChoices):
    HEX = "hex", "hex"
    BASE64 = "base64", "base64"


class FilterMode(models.TextChoices):
    ALL = "all", "All filters must match (AND)"
    ANY = "any", "Any filter may match (OR)"


class RequestMethod(models.TextChoices):
    POST = "POST", "POST"
    PUT = "PUT", "PUT"


class IncomingStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DUPLICATE = "duplicate", "Duplicate"
    FILTERED = "filtered", "Filtered out"
    REFUSED = "refused", "Refused"
