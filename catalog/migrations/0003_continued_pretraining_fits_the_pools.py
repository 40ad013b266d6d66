"""Continued pre-training asked for 400 PFLOPS at once, more than any pool can lend once other tenants'
load is counted; it now runs at 200 PFLOPS for twice as long. Reloads the standard catalog (idempotent)."""

from django.db import migrations

from catalog.standard_catalog import load_standard_catalog


def reload(apps, schema_editor):
    load_standard_catalog(
        apps.get_model("catalog", "Toolchain"),
        apps.get_model("catalog", "ProcessStep"),
        apps.get_model("catalog", "RoutingStage"),
    )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_standard_catalog")]

    operations = [migrations.RunPython(reload, migrations.RunPython.noop)]
