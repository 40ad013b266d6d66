"""What orders tell without being asked (notifications.kinds): a client, of acceptance, each passed gate, a slipping
ETA, the delivery (its people hear of their organization's orders only, in words that name no one on the staff);
operations, of an order turning late."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import Workshop
from factory import roles
from notifications.kinds import CLIENTS, STAFF, EmailChoice, Kind, register
from notifications.services import notify, staff_holding

ORDER_ACCEPTED = "order_accepted"
GATE_PASSED = "gate_passed"
ETA_SLIPPED = "eta_slipped"
ORDER_DELIVERED = "order_delivered"
ORDER_LATE = "order_late"

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
    Kind(
        ORDER_LATE,
        STAFF,
        label=_("An order turns late"),
        title=_("Order %(reference)s is now expected after its promise"),
        line=_("%(client)s was promised %(promised)s; the forecast now says %(eta)s."),
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
        organization_id=order.client_id,
    )


def tell_operations_late(order, *, eta, operations) -> int:
    """Tell operations (`operations`: their people, read once per forecast) that `order` is now expected late."""
    return notify(
        kind=ORDER_LATE,
        event=f"order-late:{order.pk}:{order.promised_delivery:%Y%m%d}",
        recipients=operations,
        params={
            "reference": order.reference,
            "client": order.client.name,
            "promised": order.promised_delivery.isoformat(),
            "eta": eta.isoformat(),
        },
        url=reverse("orders:detail", args=[order.pk]),
    )


def operations_people() -> list:
    return staff_holding(roles.OPERATIONS)
