"""The side navigation: one explicit list. An item shows when its module is on and the user holds
its permission. Every entry's URL name must resolve (tests/architecture checks it)."""

from dataclasses import dataclass

from loyalty.console.reversing import reverser


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str = "loyalty.view_console"
    module: str | None = None
    icon: str = ""


NAVIGATION = [
    NavItem("Dashboard", "home", module="dashboard", icon="▦"),
    NavItem("Customers", "customers:customer_list", icon="◉"),
    NavItem("Labels", "customers:label_list", icon="#"),
    NavItem("Events", "events:definition_list", icon="⚡"),
    NavItem("Transactions", "transactions:transaction_list", module="transactions", icon="¤"),
    NavItem("Coupons", "coupons:pool_list", module="coupons", icon="✂"),
    NavItem("Rewards", "coupons:reward_list", module="rewards", icon="★"),
    NavItem("Loyalty cards", "cards:card_list", module="loyalty_cards", icon="▭"),
    NavItem("Budgets", "budgets:budget_list", module="budgets", icon="◫"),
    NavItem("Achievements", "achievements:achievement_list", module="achievements", icon="✪"),
    NavItem("Workflows", "workflows:workflow_list", module="workflows", icon="⇶"),
    NavItem("Changes", "audit:change_list", icon="☰"),
    NavItem("Import", "dataio:import_list", permission="loyalty.import_data", icon="⇪"),
    NavItem("Export", "dataio:export_list", permission="loyalty.export_data", icon="⇩"),
    NavItem("Jobs", "dataio:job_list", icon="↻"),
    NavItem("API keys", "api_keys:api_key_list", permission="loyalty.manage_api_keys", icon="⚷"),
    NavItem("Settings", "settings:program", permission="loyalty.manage_settings", icon="⚒"),
]


def active_url(path: str, urls: list[str]) -> str | None:
    """The one item a page belongs to: the longest item URL the path starts with (Rewards,
    /coupons/rewards/, over Coupons, /coupons/; a customer's /customers/<ref>/coupons/ tab under
    Customers), else the item in the same first path segment (/events/123/ under Events,
    /events/definitions/). The home page "/" is active only on itself."""
    if path in urls:
        return path
    prefixed = [url for url in urls if url != "/" and path.startswith(url)]
    if prefixed:
        return max(prefixed, key=len)
    section = "/" + path.strip("/").split("/")[0] + "/"
    return next((url for url in urls if url != "/" and url.startswith(section)), None)


def visible_items(request, program) -> list[dict]:
    items = []
    url = reverser()
    for item in NAVIGATION:
        if item.module and not program.module_enabled(item.module):
            continue
        if not request.user.has_perm(item.permission):
            continue
        items.append({"label": item.label, "url": url(item.url_name), "icon": item.icon})
    active = active_url(request.path, [item["url"] for item in items])
    for item in items:
        item["active"] = item["url"] == active
    return items
