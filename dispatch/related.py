"""What the dispatch center adds to the staff order page (registered in DispatchConfig.ready through
orders.related, since orders does not import dispatch)."""

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from dispatch.permissions import may_reprioritize
from orders.models import CHANGEABLE_STATUSES, Order
from orders.related import OrderAction


def priority_action(*, user, order: Order) -> OrderAction | None:
    """A link to the order's priority page (the one place its priority changes), coming back to the order page."""
    if order.status not in CHANGEABLE_STATUSES or not may_reprioritize(user):
        return None
    back = reverse("orders:detail", args=[order.pk])
    return OrderAction(
        key="priority",
        label=_("Change the priority…"),
        url=f"{reverse('dispatch:order-priority', args=[order.pk])}?{urlencode({'next': back})}",
    )
