"""What orders tell a client without being asked (notifications.kinds): acceptance, each passed gate, a slipping
ETA, the delivery. The client's people hear of their organization's orders only, in words that name no one on
the staff."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import Workshop
from notifications.kinds import CLIENTS, EmailChoice, Kind, register
from notifications.services import notify

ORDER_ACCEPTED = "order_accepted"
GATE_PASSED = "gate_passed"
ETA_SLIPPED = "eta_slipped"
ORDER_DELIVERED = "order_delivered"

register(
    Kind(
        ORDER_ACCEPTED,
        CLIENTS,
        label=_("An order is accepted"),
        title=_("Order %(reference)s accepted"),
        line=_("%(title)s: the factory has planned its work."),
    ),
    Kind(
        GATE_PASSED,
        CLIENTS,
        label=_("An order passes a workshop's security gate"),
        title=_("Order %(reference)s passed the %(workshop)s gate"),
        line=_("%(title)s moves on."),
        email=EmailChoice.DIGEST,  # up to four an order: the daily digest unless the client asks for each
        choices={"workshop": Workshop},
    ),
    Kind(
        ETA_SLIPPED,
        CLIENTS,
        label=_("An order's expected delivery moves later"),
        title=_("Order %(reference)s: delivery now expected on %(eta)s"),
        line=_("%(hours)s hours later than we last told you."),
    ),
    Kind(
        ORDER_DELIVERED,
        CLIENTS,
        label=_("An order is delivered"),
        title=_("Order %(reference)s delivered"),
        line=_("%(title)s is ready for you to confirm and rate."),
    ),
)


def client_people(client_id: int):
    """The active people of a client organization."""
    return get_user_model().objects.filter(client_membership__organization_id=client_id, is_active=True)


def tell_client(order, *, kind: str, event: str, **params) -> int:
    """Tell the order's client people of `event` (unique: a retold event tells no one twice)."""
    return notify(
        kind=kind,
        event=event,
        recipients=client_people(order.client_id),
        params={"reference": order.reference, "title": order.title, **params},
        url=reverse("portal:order", args=[order.pk]),
    )
