from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        # Client kinds' events reach the organization's endpoints; notifications does not import this app.
        from notifications.services import provide_organization_channel
        from webhooks.services import deliveries_queue

        provide_organization_channel(deliveries_queue)
