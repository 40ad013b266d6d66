"""Every point where an app above orders plugs into it. Orders imports none of those apps (DESIGN.md §3): it
names them in settings or lets them register at start-up, and works on its own when nothing plugs in.

What orders *writes* is chosen by a setting, so it is explicit, visible in factory/settings.py and changed in
a test with the `settings` fixture; what only *shows* on the order pages is registered by whichever apps add
to it (several may):

1. **The quote estimator** — `settings.ORDER_ESTIMATOR`, read by `estimator()`: the dotted path of (or, in
   tests, the) callable `(*, product_type, size, priority, data_sensitivity, start) -> orders.quotes.Quote`
   that answers quotes and so sets the date an order promises (orders.quotes.quote, order_submit). The
   project names the dispatch center's forward simulation (dispatch.forecast.queue_aware_quote). Named
   by nothing: the catalog's nominal figures, orders.quotes.nominal_quote.
2. **Who writes ETAs** — `settings.ORDER_ETA_FROM_FORECAST`, read by `eta_from_forecast()`: True when a
   queue-aware forecaster writes ETAs through orders.services.orders_set_eta (the project's: the dispatch
   center's periodic forecast_etas task). The workflow then only fills in an ETA where there is none (an
   accepted order's promise) instead of overwriting the forecast at every step. False, or unset: the
   workflow keeps a nominal ETA itself, from the steps left and the gates to pass.
3. **Related records on the order pages** — orders.related.provide(key, provider), called in the
   providing app's AppConfig.ready: after-sales ("tickets", the order's tickets). None: no section.
4. **Charts on the staff order page** — orders.related.provide_chart(key, provider): the dispatch center
   ("compute", the order's compute over time). None: the page draws its step chart alone.
5. **Actions on the staff order page** — orders.related.provide_action(key, provider): the dispatch center
   ("priority", a link to the order's priority page). None: no such link.

The other way in is the services: the middle apps drive an order through orders.services (dispatch reports
steps running and finished, security releases a gate, after-sales places a follow-up order).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.utils.module_loading import import_string

NOMINAL_ESTIMATOR = "orders.quotes.nominal_quote"


# An estimator a block of code asked for (estimated_by), in this thread or task only.
_estimating_with: ContextVar[Callable | None] = ContextVar("order_estimator", default=None)


@contextmanager
def estimated_by(estimator: Callable) -> Iterator[None]:
    """Let `estimator` answer quotes within the block, for this thread only: a builder that writes the factory's
    past (demo.story) quotes it with the catalog's nominal figures, not with today's queue."""
    token = _estimating_with.set(estimator)
    try:
        yield
    finally:
        _estimating_with.reset(token)


def estimator() -> Callable:
    """The estimator a block asked for (estimated_by), else the callable `settings.ORDER_ESTIMATOR` names (a dotted
    path, or the callable itself), else the nominal one."""
    chosen = _estimating_with.get()
    if chosen is not None:
        return chosen
    named = getattr(settings, "ORDER_ESTIMATOR", None) or NOMINAL_ESTIMATOR
    return import_string(named) if isinstance(named, str) else named


def eta_from_forecast() -> bool:
    """Whether a queue-aware forecaster owns ETAs (`settings.ORDER_ETA_FROM_FORECAST`)."""
    return bool(getattr(settings, "ORDER_ETA_FROM_FORECAST", False))
