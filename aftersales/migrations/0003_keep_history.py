from django.db import migrations

from factory.history import refuse_deletes


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0002_default_sla_policies")]

    operations = refuse_deletes("aftersales_ticket", "aftersales_ticketmessage", "aftersales_ticketevent")
