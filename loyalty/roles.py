"""Console roles: Django groups and the permissions each one holds.

Every console permission is a custom permission on `loyalty.Program` (one list, below), so a page
or action checks `loyalty.<codename>`. `sync_roles()` makes the groups match this table; data
migrations call it, so adding a permission means: add it here and to Program.Meta, then add a
migration that calls `sync_roles` (see docs/development.md).
"""

CONSOLE_PERMISSIONS = [
    ("view_console", "Can view console pages"),
    ("change_customer_profile", "Can edit customer attributes and labels"),
    ("manage_points", "Can add, subtract and spend points and change expiration"),
    ("manage_customer_status", "Can suspend, unsuspend and opt out customers"),
    ("ban_customer", "Can ban and unban customers"),
    ("merge_customers", "Can merge customer profiles"),
    ("manage_customer_tiers", "Can change a customer's tier manually"),
    ("add_customer_events", "Can add events to a customer manually"),
    ("manage_coupons", "Can redeem, invalidate, unassign and transfer coupons"),
    ("manage_transactions", "Can accept, reject and refund transactions"),
    ("manage_catalog", "Can configure coupon pools, rewards and earning rules"),
    ("manage_labels", "Can create and rename labels"),
    ("manage_segments", "Can create and edit segments"),
    ("manage_workflows", "Can create and edit workflows"),
    ("import_data", "Can import customers and events"),
    ("export_data", "Can export customers and events"),
    ("approve_changes", "Can approve content changes (approver)"),
    ("manage_settings", "Can change program settings, fields, events, accounts and tiers"),
    ("manage_api_keys", "Can create, rotate and revoke API keys"),
]

ALL = [codename for codename, _ in CONSOLE_PERMISSIONS]

ROLES: dict[str, list[str]] = {
    "administrator": ALL,
    "program manager": [
        "view_console",
        "change_customer_profile",
        "manage_points",
        "manage_customer_status",
        "merge_customers",
        "manage_customer_tiers",
        "add_customer_events",
        "manage_coupons",
        "manage_transactions",
        "manage_catalog",
        "manage_labels",
        "manage_segments",
        "manage_workflows",
        "import_data",
        "export_data",
    ],
    "support agent": [
        "view_console",
        "change_customer_profile",
        "manage_points",
        "manage_customer_status",
        "add_customer_events",
        "manage_coupons",
        "manage_transactions",
    ],
    "analyst": ["view_console", "export_data"],
    "approver": [
        "view_console",
        "approve_changes",
        "manage_points",
        "add_customer_events",
        "change_customer_profile",
    ],
}

ROLE_SLUGS = {name.replace(" ", "_"): name for name in ROLES}


def sync_roles(apps=None) -> None:
    """Create or update the role groups with exactly the permissions in ROLES."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type, _ = ContentType.objects.get_or_create(app_label="loyalty", model="program")
    permissions = {}
    for codename, name in CONSOLE_PERMISSIONS:
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        permissions[codename] = permission
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([permissions[c] for c in codenames])
