import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from loyalty import clock
from loyalty.console.columns import DayColumn, WhenColumn

from .choices import CouponStatus
from .models import Coupon, CouponPool, Reward

NUM = {"td": {"class": "num"}}


def _button(url, label):
    return format_html('<a class="button secondary small" href="{}">{}</a>', url, label)


class CouponPoolTable(tables.Table):
    name = tables.Column(orderable=False)
    type = tables.Column(orderable=False)
    value = tables.Column(attrs=NUM, orderable=False)
    usage_limit = tables.Column(verbose_name="Uses per coupon", attrs=NUM, orderable=False)
    valid_until = DayColumn(orderable=False)
    active = tables.BooleanColumn(orderable=False)
    links = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = CouponPool
        empty_text = "No coupon pools yet."
        fields = ()
        sequence = ("name", "type", "value", "usage_limit", "valid_until", "active", "links")
        always_visible = ("name", "links")

    def render_links(self, record):
        return format_html(
            "{} {}",
            _button(reverse("coupons:pool_codes", args=[record.pk]), "Codes"),
            _button(reverse("coupons:pool_edit", args=[record.pk]), "Edit"),
        )


class PoolCouponTable(tables.Table):
    code = tables.Column(attrs={"td": {"class": "mono"}}, orderable=False)
    status = tables.Column(orderable=False)
    customer = tables.Column(accessor="customer__customer_id", verbose_name="Customer", orderable=False)
    claimed_at = WhenColumn(orderable=False)
    expires_at = DayColumn(verbose_name="Expiration date", orderable=False)
    usages = tables.Column(attrs=NUM, orderable=False)
    balance = tables.Column(attrs=NUM, orderable=False)

    class Meta:
        model = Coupon
        empty_text = "No codes in this pool yet: import or generate some."
        fields = ()
        sequence = ("code", "status", "customer", "claimed_at", "expires_at", "usages", "balance")


COUPON_ACTIONS = [
    ("Redeem", "coupon_redeem", ("claimed", "transferred")),
    ("Invalidate", "coupon_invalidate", ("claimed", "transferred", "expired", "redeemed")),
    ("Unassign", "coupon_unassign", ("claimed", "transferred", "expired")),
    ("Transfer", "coupon_transfer", ("claimed", "transferred")),
    ("Change expiration", "coupon_expiration", ("claimed", "transferred", "expired")),
]
# URL name -> the event it registers (whose permission events.permissions decides).
COUPON_ACTION_EVENTS = {
    "coupon_redeem": "coupon_redeem",
    "coupon_invalidate": "coupon_invalidate",
    "coupon_unassign": "coupon_unassign",
    "coupon_transfer": "coupon_transfer",
    "coupon_expiration": "coupon_expiration_change",
}


class CustomerCouponTable(tables.Table):
    """000 "Coupons": claimed at, code, type, amount, balance, expiration, redeemed at, status, usages."""

    claimed_at = WhenColumn(verbose_name="Claimed at", orderable=False)
    code = tables.Column(attrs={"td": {"class": "mono"}}, orderable=False)
    type = tables.Column(accessor="pool__type", verbose_name="Type", orderable=False)
    amount = tables.Column(empty_values=(), verbose_name="Amount", attrs=NUM, orderable=False)
    balance = tables.Column(attrs=NUM, orderable=False)
    expires_at = DayColumn(verbose_name="Expiration date", orderable=False)
    redeemed_at = WhenColumn(verbose_name="Redeemed at", orderable=False)
    status = tables.Column(orderable=False)
    usages = tables.Column(attrs=NUM, orderable=False)
    # 003's columns: created, campaign, session, redemptions "x of limit", attributes
    created_at = WhenColumn(verbose_name="Created", orderable=False)
    campaign = tables.Column(accessor="pool__name", verbose_name="Campaign", orderable=False)
    session = tables.Column(empty_values=(), verbose_name="Session", orderable=False)
    redemptions = tables.Column(empty_values=(), verbose_name="Redemptions", attrs=NUM, orderable=False)
    attributes = tables.Column(empty_values=(), verbose_name="Attributes", orderable=False)
    actions = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = Coupon
        empty_text = "No coupons for this customer."
        fields = ()
        sequence = (
            "claimed_at",
            "code",
            "type",
            "amount",
            "balance",
            "expires_at",
            "redeemed_at",
            "status",
            "usages",
            "created_at",
            "campaign",
            "session",
            "redemptions",
            "attributes",
            "actions",
        )
        attrs = {"data-testid": "coupons-table"}

    def __init__(self, *args, ref=None, allowed_actions=frozenset(), sessions=None, **kwargs):
        """`allowed_actions`: the events the user may register (events.permissions.registrable_actions)."""
        super().__init__(*args, **kwargs)
        self.ref = ref
        self.allowed_actions = allowed_actions
        self.sessions = sessions or {}  # coupon code -> transaction ID it was redeemed in (003's Session)
        if not any(COUPON_ACTION_EVENTS[name] in allowed_actions for _l, name, _s in COUPON_ACTIONS):
            self.columns.hide("actions")

    def render_status(self, record):
        return CouponStatus(record.current_status(clock.now())).label

    def render_type(self, record):
        return record.pool.get_type_display()

    def render_session(self, record):
        tid = self.sessions.get(record.code)
        if not tid or not self.ref:
            return "—"
        url = reverse("transactions:customer_sessions", kwargs={"ref": self.ref})
        return format_html('<a class="mono" href="{}">{}</a>', url, tid)

    def render_redemptions(self, record):
        return f"{record.usages} of {record.pool.usage_limit}"

    def render_attributes(self, record):
        pool = record.pool
        value = f"{pool.value}{' ' + pool.currency if pool.currency else ''}"
        return f"type: {pool.get_type_display()}, value: {value}"

    def render_amount(self, record):
        return "—" if record.amount is None else record.amount

    def render_balance(self, record):
        return "—" if record.balance is None else record.balance

    def render_actions(self, record):
        links = [
            (reverse(f"coupons:{name}", kwargs={"ref": self.ref, "code": record.code}), label)
            for label, name, statuses in COUPON_ACTIONS
            if record.status in statuses and COUPON_ACTION_EVENTS[name] in self.allowed_actions
        ]
        if not links:
            return ""
        items = format_html_join("", '<a class="button secondary small" href="{}">{}</a>', links)
        return format_html(
            '<details class="row-actions"><summary aria-label="Actions">☰</summary><div class="menu">{}</div></details>',
            items,
        )


class RewardTable(tables.Table):
    name = tables.Column(orderable=False)
    points = tables.Column(verbose_name="Cost", attrs=NUM, orderable=False)
    account = tables.Column(accessor="account__name", verbose_name="Account", orderable=False)
    gives = tables.Column(orderable=False)
    stock = tables.Column(empty_values=(), verbose_name="Stock left", attrs=NUM, orderable=False)
    claimed_count = tables.Column(verbose_name="Claimed", attrs=NUM, orderable=False)
    valid_until = DayColumn(orderable=False)
    active = tables.BooleanColumn(orderable=False)
    edit = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = Reward
        empty_text = "No rewards yet."
        fields = ()
        sequence = (
            "name",
            "points",
            "account",
            "gives",
            "stock",
            "claimed_count",
            "valid_until",
            "active",
            "edit",
        )
        always_visible = ("name", "edit")

    def render_stock(self, record):
        return "unlimited" if record.stock is None else record.remaining

    def render_edit(self, record):
        return _button(reverse("coupons:reward_edit", args=[record.pk]), "Edit")
