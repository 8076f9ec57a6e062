from django.db import models


class Environment(models.TextChoices):
    """Every customer and API key lives in one environment; configuration is shared."""

    LIVE = "live", "Live"
    SANDBOX = "sandbox", "Sandbox"


class Module(models.TextChoices):
    """Switchable program modules (the seeds' optional modules). Values are Program field names."""

    MULTI_ACCOUNTS = "multi_accounts", "Multi-accounts"
    TIERS = "tiers", "Tiers"
    EXPIRING_POINTS = "expiring_points", "Expiring points"
    COUPONS = "coupons", "Coupons"
    REWARDS = "rewards", "Rewards"
    TRANSACTIONS = "transactions", "Transactions"
    CHECKOUT_ACCEPT = "checkout_accept", "Checkout accept"
    SEGMENTS = "segments", "Segments"
    WORKFLOWS = "workflows", "Workflows"
    PASSES = "passes", "Passes (wallet)"
    TIERED_CAMPAIGNS = "tiered_campaigns", "Tiered campaigns"
    SYNC = "sync", "Sync"
    WEBHOOKS = "webhooks", "Webhooks"
    INCOMING_WEBHOOKS = "incoming_webhooks", "Incoming webhooks"
    REFERRALS = "referrals", "Referrals"
    ACHIEVEMENTS = "achievements", "Achievements"
    BUDGETS = "budgets", "Budgets"
    LOYALTY_CARDS = "loyalty_cards", "Loyalty cards"
    CONTENT_APPROVAL = "content_approval", "Content approval"
    ANONYMOUS_REGISTRATION = "anonymous_registration", "Anonymous event registration"
    CUSTOMER_VERIFICATION = "customer_verification", "Customer login verification (pending status)"
    DASHBOARD = "dashboard", "Dashboard"
