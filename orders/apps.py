from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        # The kinds of notice orders sends, known to the preferences page before any is sent.
        from orders import notices  # noqa: F401
