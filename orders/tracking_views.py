"""The public, read-only tracking page behind an order's shareable link (no login).

It shows where the order is and when it should arrive: reference, status, the workshop progress
bar and each workshop's status, ETA and promised date. Nothing else: no title, no client, no
requirements, no people, no notes. An unknown or revoked link answers 404.

The page looks the same to everyone who holds the link (no navigation or user menu, even for a signed-in
visitor) and sets no cookie: its language comes from the browser or from its address (`?lang=zh-hans`,
what its language switch sends), never from a form that would need a CSRF token. So it is built once per
link and language and kept (orders.read_cache).
"""

import re

from django.conf import settings
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from factory.context_processors import public_page
from orders import read_cache
from orders.display import ORDER_STATUS_TONE
from orders.portal_views import delivery_outlook, stage_rows
from orders.selectors import order_by_tracking_token, workshop_bar

# What orders.models.new_tracking_token makes (anything else is no link of ours, and is not looked up).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _page(order) -> str:
    segments = workshop_bar(order)
    context = {
        **public_page(),
        "order": order,
        "tone": ORDER_STATUS_TONE.get(order.status, "grey"),
        "segments": segments,
        "stages": stage_rows(segments),
        "delivery": delivery_outlook(order),
    }
    return render_to_string("orders/track.html", context)


def _kept_page(token: str, language: str) -> str:
    page = read_cache.copy_of(read_cache.TRACKING_PAGE, token, language)
    if page is None:
        read_at = read_cache.reading_starts()
        order = order_by_tracking_token(token)
        if order is None:
            raise Http404(_("This tracking link does not exist or was revoked."))
        page = _page(order)
        read_cache.keep(read_cache.TRACKING_PAGE, token, language, page, read_at=read_at)
    return page


@never_cache
def order_tracking(request, token):
    chosen = request.GET.get("lang", "")
    language = chosen if chosen in dict(settings.LANGUAGES) else translation.get_language()
    with translation.override(language):
        if not _TOKEN.fullmatch(token):
            raise Http404(_("This tracking link does not exist or was revoked."))
        response = HttpResponse(_kept_page(token, language))
    response["Content-Language"] = language
    # A shared link should not leak through search engines.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
