from django.db import migrations

from factory.history import refuse_deletes


class Migration(migrations.Migration):
    dependencies = [("security", "0002_default_checklists")]

    operations = refuse_deletes("security_review", "security_finding", "security_approval")
