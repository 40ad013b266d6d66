from django.db import migrations

from factory.history import refuse_deletes


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_order_workflow")]

    operations = refuse_deletes("orders_order", "orders_orderevent", "orders_requirementchange")
