from django.db import models


class TransactionStatus(models.TextChoices):
    """000 "Transactions": draft -> pending -> accepted / rejected; accepted -> refunded."""

    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    REFUNDED = "refunded", "Refunded"


class EarningMode(models.TextChoices):
    PER_TRANSACTION = "per_transaction", "Per transaction (rounded once, from the total)"
    PER_ITEM = "per_item", "Per item (rounded per line, one checkout_item event each)"


class RoundingMode(models.TextChoices):
    DOWN = "down", "Round down"
    NEAREST = "nearest", "Round to the nearest (half up)"
    UP = "up", "Round up"
