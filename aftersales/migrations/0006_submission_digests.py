"""A digest of what each keyed submission asked for, beside its key (factory.submissions). Rows kept before have
none, which matches any request: a repeat of theirs is still answered with what it created."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('aftersales', '0005_field_names_translated'),
    ]

    operations = [
        migrations.AddField(
            model_name='ticket',
            name='submission_digest',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=64, verbose_name='submission digest'),
        ),
        migrations.AddField(
            model_name='ticketmessage',
            name='submission_digest',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=64, verbose_name='submission digest'),
        ),
    ]
