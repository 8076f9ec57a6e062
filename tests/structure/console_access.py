"""The one table of who may open each console URL, and a walk over the project's URLconf.

`ACCESS` maps every named console URL (everything in `loyalty.urls` except the integration API under
/api/ and the public pages in `PUBLIC`) to the roles of the fixed cast (tests/conftest.py) that may
open it with a GET. tests/structure/test_console_urls.py fails when a console URL is missing here,
when an entry here names no URL, and when a role gets anything else than the table says.

Adding a console page: add its URL, then a line here. The roles follow loyalty/roles.py: a page
guarded by permission P lists the roles holding P.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

ADMIN = ("administrator",)
MANAGERS = ("administrator", "program_manager")  # manage_catalog, manage_labels, merge, tiers
AGENTS = ("administrator", "program_manager", "support_agent")  # coupons, transactions, status
POINTS = ("administrator", "program_manager", "support_agent", "approver")  # points, manual events
APPROVERS = ("administrator", "approver")  # approve_changes
STAFF = ("administrator", "program_manager", "support_agent", "analyst", "approver")  # view_console
EVERYONE = (*STAFF, "nobody")
EXPORT = ("administrator", "program_manager", "analyst")  # export_data  # signed in, with or without a role


@dataclass(frozen=True)
class Access:
    """Who may GET a console URL.

    roles: the cast members that get `status`; every other member gets `denied`, an anonymous
    visitor a redirect to the login page. obj: the object of tests.structure.test_console_urls.world
    whose pk fills a `<pk>` in the URL."""

    roles: tuple[str, ...]
    obj: str | None = None
    status: int = 200
    denied: int = 403


PROFILE = ("administrator", "program_manager", "support_agent", "approver")  # change_customer_profile

ACCESS: dict[str, Access] = {
    # Segments and customer lists (Segments module on in the world)
    "segments:segment_list": Access(STAFF),
    "segments:segment_add": Access(MANAGERS),
    "segments:segment_preview": Access(MANAGERS, status=405),  # POST only (htmx)
    "segments:segment_import": Access(MANAGERS),  # import_data
    "segments:segment_members": Access(STAFF, obj="segment"),
    "segments:segment_edit": Access(MANAGERS, obj="segment"),
    "segments:segment_status": Access(STAFF, obj="segment"),
    "segments:segment_action": Access(MANAGERS, obj="segment", status=405),  # POST only
    "segments:list_list": Access(STAFF),
    "segments:list_add": Access(MANAGERS),
    "segments:bulk_list": Access(STAFF),
    "segments:bulk_detail": Access(STAFF),
    "segments:list_detail": Access(STAFF, obj="customer_list"),
    "segments:list_edit": Access(MANAGERS, obj="customer_list"),
    "segments:list_member_add": Access(PROFILE, obj="customer_list", status=405),  # POST only
    "segments:list_member_remove": Access(PROFILE, obj="customer_list"),
    "segments:list_bulk": Access(PROFILE, obj="customer_list"),
    "segments:list_status": Access(MANAGERS, obj="customer_list", status=405),  # POST only
    # Imports, exports and jobs (dataio); import_data: administrator and program manager
    "dataio:job_list": Access(STAFF),
    # POST only; the POST asks the job kind's permission (exports: export_data, others: import_data)
    "dataio:job_cancel": Access(STAFF, obj="job", status=405),
    "dataio:import_list": Access(MANAGERS),
    "dataio:import_add": Access(MANAGERS),
    "dataio:import_template": Access(MANAGERS),
    "dataio:import_detail": Access(MANAGERS, obj="data_import"),
    "dataio:import_progress": Access(MANAGERS, obj="data_import"),
    "dataio:import_errors": Access(MANAGERS, obj="data_import", status=404),  # no failed rows: no file
    "dataio:import_action": Access(MANAGERS, obj="data_import", status=405),  # POST only
    "dataio:export_list": Access(EXPORT),
    "dataio:export_add": Access(EXPORT),
    "dataio:export_detail": Access(EXPORT, obj="export"),
    "dataio:export_download": Access(EXPORT, obj="export", status=404),  # not finished: no file
    # Shell
    "home": Access(STAFF),  # the dashboard
    "password_change": Access(EVERYONE),
    "password_change_done": Access(EVERYONE),
    "switch_environment": Access(STAFF, status=405),  # POST only
    "sandbox_clock": Access(ADMIN),  # the sandbox test clock (issue 13 §8)
    # API keys (console pages)
    "api_keys:api_key_list": Access(ADMIN),
    "api_keys:api_key_add": Access(ADMIN),
    "api_keys:api_key_rotate": Access(ADMIN, obj="api_key"),
    "api_keys:api_key_revoke": Access(ADMIN, obj="api_key"),
    # Settings
    "settings:program": Access(ADMIN),
    "settings:account_list": Access(ADMIN),
    "settings:account_add": Access(ADMIN),
    "settings:account_edit": Access(ADMIN, obj="account"),
    "settings:tier_structure_list": Access(ADMIN),
    "settings:tier_structure_add": Access(ADMIN),
    "settings:tier_structure_edit": Access(ADMIN, obj="tier_structure"),
    "customers:custom_field_list": Access(ADMIN),
    "customers:custom_field_add": Access(ADMIN),
    "customers:custom_field_edit": Access(ADMIN, obj="custom_field"),
    "events:definition_list": Access(STAFF),
    "events:definition_add": Access(ADMIN),
    "events:definition_edit": Access(ADMIN, obj="definition"),
    # Change log and change requests
    "audit:change_list": Access(STAFF),
    "audit:request_list": Access(STAFF),
    "audit:request_accept": Access(APPROVERS, obj="change_request"),
    "audit:request_reject": Access(APPROVERS, obj="change_request"),
    # Transactions and earning rules
    "transactions:transaction_list": Access(STAFF),
    "transactions:transaction_detail": Access(STAFF, obj="transaction"),
    "transactions:transaction_accept": Access(AGENTS, obj="pending_transaction"),
    "transactions:transaction_reject": Access(AGENTS, obj="pending_transaction"),
    "transactions:transaction_refund": Access(AGENTS, obj="transaction"),
    "transactions:transaction_partial_refund": Access(AGENTS, obj="transaction"),
    "transactions:earning_rule_list": Access(STAFF),
    "transactions:earning_rule_add": Access(MANAGERS),
    "transactions:earning_rule_edit": Access(MANAGERS, obj="earning_rule"),
    # Coupon pools and rewards
    "coupons:pool_list": Access(STAFF),
    "coupons:pool_add": Access(MANAGERS),
    "coupons:pool_edit": Access(MANAGERS, obj="pool"),
    "coupons:pool_codes": Access(STAFF, obj="pool"),
    "coupons:pool_generate": Access(MANAGERS, obj="pool"),
    "coupons:pool_import": Access(MANAGERS, obj="pool"),
    "coupons:reward_list": Access(STAFF),
    "coupons:reward_add": Access(MANAGERS),
    "coupons:reward_edit": Access(MANAGERS, obj="reward"),
    # Customers: list, profile tabs, header and coupon actions
    "customers:customer_list": Access(STAFF),
    "customers:customer_add": Access(POINTS),  # change_customer_profile
    "customers:customer_overview": Access(STAFF),
    "customers:customer_personal": Access(STAFF),
    "customers:customer_events": Access(STAFF),
    "customers:customer_event_detail": Access(STAFF),
    "customers:customer_points": Access(STAFF),
    "customers:customer_tiers": Access(STAFF),
    "customers:customer_changes": Access(STAFF),
    "transactions:customer_transactions": Access(STAFF),
    "coupons:customer_coupons": Access(STAFF),
    "customers:customer_add_event": Access(POINTS),
    "customers:customer_manage_points": Access(POINTS),
    "customers:customer_change_expiration": Access(POINTS),
    "customers:customer_merge": Access(MANAGERS),
    "customers:customer_suspend": Access(AGENTS),
    "customers:customer_unsuspend": Access(AGENTS),
    "customers:customer_ban": Access(ADMIN),
    "customers:customer_unban": Access(ADMIN),
    "customers:customer_opt_out": Access(AGENTS),
    "customers:customer_tier_up": Access(MANAGERS),
    "customers:customer_tier_down": Access(MANAGERS),
    "customers:customer_tier_remove": Access(MANAGERS),
    "customers:customer_tier_expiration": Access(MANAGERS),
    "coupons:customer_claim_reward": Access(AGENTS),
    "coupons:coupon_redeem": Access(AGENTS),
    "coupons:coupon_invalidate": Access(AGENTS),
    "coupons:coupon_unassign": Access(AGENTS),
    "coupons:coupon_transfer": Access(AGENTS),
    "coupons:coupon_expiration": Access(AGENTS),
    # Labels
    "customers:label_list": Access(STAFF),
    "customers:label_add": Access(MANAGERS),
    "customers:label_customers": Access(STAFF, obj="label"),
    "customers:label_edit": Access(MANAGERS, obj="label"),
    # Issue 20 (the world switches the modules on)
    "customers:customer_attributes": Access(STAFF),
    "customers:customer_loyalty_points": Access(STAFF),
    "customers:customer_ledger_add": Access(POINTS),
    "customers:customer_ledger_deduct": Access(POINTS),
    "customers:customer_subledger_create": Access(POINTS),
    "customers:customer_ledger_export": Access(EXPORT),
    "transactions:customer_sessions": Access(STAFF),
    "transactions:customer_return_items": Access(AGENTS, obj="transaction"),
    "cards:card_list": Access(STAFF),
    "cards:card_add": Access(MANAGERS),
    "cards:card_generate": Access(MANAGERS),
    "cards:card_import": Access(MANAGERS),
    "cards:card_settings": Access(ADMIN),
    "cards:customer_cards": Access(STAFF),
    "cards:customer_card_register": Access(AGENTS),
    # <code> is the world's coupon code: no such card of Anna's, so 404 for those allowed
    "cards:customer_card_unregister": Access(AGENTS, status=404),
    "cards:customer_card_transfer": Access(AGENTS, status=404),
    "cards:customer_card_status": Access(AGENTS, status=404),
    "cards:card_export": Access(EXPORT),
    "referrals:import_codes": Access(MANAGERS),
    "transactions:customer_sessions_export": Access(EXPORT),
    "referrals:customer_referrals": Access(STAFF),
    "referrals:customer_create_code": Access(AGENTS),
    "referrals:export_codes": Access(EXPORT),
    "budgets:budget_list": Access(STAFF),
    "budgets:budget_add": Access(MANAGERS),
    "budgets:budget_edit": Access(MANAGERS, obj="budget"),
    "budgets:customer_budgets": Access(STAFF),
    "achievements:achievement_list": Access(STAFF),
    "achievements:achievement_add": Access(MANAGERS),
    "achievements:achievement_edit": Access(MANAGERS, obj="achievement"),
    "achievements:customer_achievements": Access(STAFF),
    # Workflows (module on in the world); manage_workflows: administrators and program managers
    "workflows:workflow_list": Access(STAFF),
    "workflows:workflow_add": Access(MANAGERS),
    "workflows:workflow_import": Access(MANAGERS),
    "workflows:node_form": Access(MANAGERS),  # the editor's node form (no ?type=: a hint)
    "workflows:node_reference": Access(STAFF),
    "workflows:campaign_list": Access(STAFF),
    "workflows:campaign_add": Access(MANAGERS),
    "workflows:campaign_edit": Access(MANAGERS, obj="campaign"),
    "workflows:pending_list": Access(STAFF),
    "workflows:pending_retry": Access(MANAGERS, obj="pending_trigger"),
    "workflows:pending_discard": Access(MANAGERS, obj="pending_trigger"),
    "workflows:pending_retry_failed": Access(MANAGERS),
    "workflows:run_detail": Access(STAFF, obj="workflow_run"),
    "workflows:run_cancel": Access(MANAGERS, obj="workflow_run", status=405),  # POST only
    "workflows:workflow_detail": Access(STAFF, obj="workflow"),
    "workflows:workflow_waiting": Access(STAFF, obj="workflow"),
    "workflows:workflow_edit": Access(MANAGERS, obj="workflow"),
    "workflows:workflow_export": Access(STAFF, obj="workflow"),
    "workflows:workflow_test": Access(MANAGERS, obj="workflow"),
    "workflows:workflow_status": Access(MANAGERS, obj="workflow", status=405),  # POST only
    "workflows:customer_workflow_logs": Access(STAFF),
    # webhooks (Webhooks, Incoming webhooks and Sync modules on in the world)
    "webhooks:site_list": Access(ADMIN),
    "webhooks:site_add": Access(ADMIN),
    "webhooks:site_edit": Access(ADMIN, obj="trusted_site"),
    "webhooks:subscription_list": Access(ADMIN),
    "webhooks:subscription_add": Access(ADMIN),
    "webhooks:subscription_edit": Access(ADMIN, obj="subscription"),
    "webhooks:settings": Access(ADMIN),
    "webhooks:delivery_list": Access(ADMIN),
    "webhooks:delivery_detail": Access(ADMIN, obj="delivery"),
    "webhooks:dead_letter_list": Access(ADMIN),
    "webhooks:delivery_replay": Access(ADMIN, status=405),  # POST only
    "webhooks:incoming_list": Access(ADMIN),
    "webhooks:incoming_add": Access(ADMIN),
    "webhooks:incoming_blueprints": Access(ADMIN),
    "webhooks:incoming_edit": Access(ADMIN, obj="incoming_endpoint"),
    "webhooks:incoming_toggle": Access(ADMIN, obj="incoming_endpoint", status=405),  # POST only
    "webhooks:incoming_log": Access(ADMIN),
    "webhooks:customer_sync": Access(STAFF),
    "webhooks:customer_resync": Access(PROFILE),
}

# Pages outside the console's roles: anyone may open them, signed in or not.
PUBLIC = {
    "login",
    "logout",
    "healthz",
    # Staff password reset by e-mail (docs/security.md): for users who cannot sign in.
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
PUBLIC_KWARGS = {"password_reset_confirm": {"uidb64": "MQ", "token": "set-password"}}


@dataclass(frozen=True)
class ConsoleURL:
    name: str
    route: str
    pattern: URLPattern

    @property
    def kwargs(self) -> list[str]:
        return sorted(self.pattern.pattern.converters)

    @property
    def view_class(self):
        return getattr(self.pattern.callback, "view_class", None)


def _walk(patterns, prefix: str = "", namespace: str | None = None) -> Iterator[tuple[str, str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            if namespace and entry.namespace:
                inner = f"{namespace}:{entry.namespace}"
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern), entry


def all_url_names() -> set[str]:
    """Every named pattern of the project URLconf, namespaced (`customers:customer_overview`)."""
    return {name for name, _route, _pattern in _walk(get_resolver().url_patterns) if name}


def console_urls() -> list[ConsoleURL]:
    """Every pattern of the project URLconf except the integration API (/api/...) and PUBLIC pages.
    An unnamed console pattern is an error: it could not be in ACCESS."""
    found = []
    for name, route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("api/") or name in PUBLIC:
            continue
        assert name, f"console URL {route!r} has no name"
        found.append(ConsoleURL(name, route, pattern))
    return found
