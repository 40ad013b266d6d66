"""The four staff roles exist on every database: roles.py and the permission checks rely on them."""

from django.db import migrations

from factory.roles import STAFF_ROLES, ensure_role_groups


def create_roles(apps, schema_editor):
    ensure_role_groups(apps.get_model("auth", "Group"))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=STAFF_ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
