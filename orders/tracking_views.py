"""The public, read-only tracking page behind an order's shareable link (no login).

It shows where the order is and when it should arrive: reference, status, the workshop progress
bar and each workshop's status, ETA and promised date. Nothing else: no title, no client, no
requirements, no people, no notes. An unknown or revoked link answers 404.
"""

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from orders.display import ORDER_STATUS_TONE
from orders.portal_views import delivery_outlook, stage_rows
from orders.selectors import order_by_tracking_token, workshop_bar


@never_cache
def order_tracking(request, token):
    order = order_by_tracking_token(token)
    if order is None:
        raise Http404(_("This tracking link does not exist or was revoked."))
    segments = workshop_bar(order)
    response = render(
        request,
        "orders/track.html",
        {
            "order": order,
            "tone": ORDER_STATUS_TONE.get(order.status, "grey"),
            "segments": segments,
            "stages": stage_rows(segments),
            "delivery": delivery_outlook(order),
        },
    )
    # A shared link should not leak through search engines.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
