"""Coupon codes are unique regardless of letter case (issue 13 §3): the plain unique index on
`code` becomes a unique index on UPPER(code), which case-insensitive lookups use."""

import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Upper


def refuse_case_duplicates(apps, schema_editor):
    Coupon = apps.get_model("coupons", "Coupon")
    clashes = list(
        Coupon.objects.annotate(code_upper=Upper("code"))
        .values("code_upper")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("code_upper", flat=True)[:20]
    )
    if clashes:
        raise RuntimeError(
            "Coupon codes that differ only by letter case must be renamed before this migration: "
            + ", ".join(clashes)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0003_reward_claim_revoked_at"),
        ("customers", "0005_fewer_write_indexes"),
    ]

    operations = [
        migrations.RunPython(refuse_case_duplicates, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="coupon",
            name="code",
            field=models.CharField(max_length=64),
        ),
        migrations.AddConstraint(
            model_name="coupon",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Upper("code"), name="coupon_code_upper"
            ),
        ),
    ]
