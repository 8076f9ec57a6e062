"""Issue 16 §3: a customer's top-level figures (score, spent, spendable, pending, reserved,
expired) are its default account's balance, no longer the sum over every account (which added
"Status points" to real points). Recomputes them once from loyalty_pointbalance; the ledger keeps
them so from now on (loyalty.ledger.operations.change)."""

from django.db import migrations

COLUMNS = {
    "score": "earned",
    "spent": "spent",
    "spendable": "spendable",
    "pending": "pending",
    "reserved": "reserved",
    "expired": "expired",
}
SQL = "UPDATE customers_customer SET " + ", ".join(
    f"{total} = COALESCE((SELECT b.{figure} FROM loyalty_pointbalance b "
    "WHERE b.customer_id = customers_customer.id AND b.account_id = "
    "(SELECT a.id FROM loyalty_pointaccount a WHERE a.is_default)), 0)"
    for total, figure in COLUMNS.items()
)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_customer_search_trigram"),
        ("loyalty", "0005_fewer_write_indexes"),
    ]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop, elidable=False)]
