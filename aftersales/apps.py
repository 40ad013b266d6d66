from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self):
        # The order pages list an order's tickets; orders does not import after-sales.
        from aftersales.related import tickets_section
        from orders import related

        related.provide("tickets", tickets_section)
        # The kinds of notice after-sales sends, known to the preferences page before any is sent.
        from aftersales import notices  # noqa: F401
