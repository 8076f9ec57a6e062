from django.db import migrations


def create_roles_and_defaults(apps, schema_editor):
    from loyalty.roles import sync_roles

    sync_roles(apps)
    Program = apps.get_model("loyalty", "Program")
    if not Program.objects.exists():
        Program.objects.create()
    PointAccount = apps.get_model("loyalty", "PointAccount")
    if not PointAccount.objects.filter(is_default=True).exists():
        PointAccount.objects.create(code="points", name="Points", is_default=True)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles_and_defaults, migrations.RunPython.noop)]
