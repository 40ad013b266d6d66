"""A digest of what each keyed submission asked for, beside its key (factory.submissions). Rows kept before have
none, which matches any request: a repeat of theirs is still answered with what it created."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0008_field_names_translated'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='submission_digest',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=64, verbose_name='submission digest'),
        ),
    ]
