from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self):
        # Quotes become queue-aware once the dispatch center is installed; orders does not import dispatch.
        from dispatch.charts import order_compute
        from dispatch.forecast import queue_aware_quote
        from dispatch.related import priority_action
        from orders import quotes, related

        quotes.use_estimator(queue_aware_quote)
        quotes.hand_eta_to_forecaster()
        # The order page draws the order's compute over time from the dispatch center's jobs.
        related.provide_chart("compute", order_compute)
        # An order's priority changes on the dispatch center's priority page only; the order page links to it.
        related.provide_action("priority", priority_action)
