"""Every gate has a checklist from the start: the defaults of security.checklists."""

from django.db import migrations

from security.checklists import load_default_checklists


def load(apps, schema_editor):
    load_default_checklists(apps.get_model("security", "ChecklistItem"))


def unload(apps, schema_editor):
    apps.get_model("security", "ChecklistItem").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("security", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
