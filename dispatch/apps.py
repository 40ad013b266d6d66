from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self):
        # What the dispatch center adds to the order pages (orders.extensions lists every such point; quotes and
        # ETAs are chosen by settings, ORDER_ESTIMATOR and ORDER_ETA_FROM_FORECAST).
        from dispatch.charts import order_compute
        from dispatch.related import priority_action
        from orders import related

        # The order page draws the order's compute over time from the dispatch center's jobs.
        related.provide_chart("compute", order_compute)
        # An order's priority changes on the dispatch center's priority page only; the order page links to it.
        related.provide_action("priority", priority_action)
        # The kinds of notice the dispatch center sends, known to the preferences page before any is sent.
        from dispatch import notices  # noqa: F401

        # /healthz names the real clusters that do not answer.
        from dispatch.selectors import clusters_health
        from factory import health

        health.register("clusters", clusters_health)
