"""Every severity has an SLA policy from the start: the defaults of aftersales.sla."""

from django.db import migrations

from aftersales.sla import load_default_policies


def load(apps, schema_editor):
    load_default_policies(apps.get_model("aftersales", "SlaPolicy"))


def unload(apps, schema_editor):
    apps.get_model("aftersales", "SlaPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0001_tickets")]

    operations = [migrations.RunPython(load, unload)]
