"""Load the standard process catalog: 75 process steps, their toolchains and the product-type routings."""

from django.db import migrations

from catalog.standard_catalog import load_standard_catalog


def load(apps, schema_editor):
    load_standard_catalog(
        apps.get_model("catalog", "Toolchain"),
        apps.get_model("catalog", "ProcessStep"),
        apps.get_model("catalog", "RoutingStage"),
    )


def unload(apps, schema_editor):
    apps.get_model("catalog", "RoutingStage").objects.all().delete()
    apps.get_model("catalog", "ProcessStep").objects.all().delete()
    apps.get_model("catalog", "Toolchain").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
