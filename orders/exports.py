"""The orders' list and an order's audit timeline as spreadsheets (factory.exports)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import ProductType, Size
from factory.exports import Column
from factory.people import person_name
from orders.models import DataSensitivity, OrderEvent, OrderStatus, Priority

# One row per order: the columns a planner or an accountant reads, in the reader's language.
ORDER_COLUMNS = (
    Column(gettext_lazy("Reference"), "reference"),
    Column(gettext_lazy("Title"), "title"),
    Column(gettext_lazy("Client"), "client__name"),
    Column(gettext_lazy("Product type"), "product_type", dict(ProductType.choices)),
    Column(gettext_lazy("Size"), "size", dict(Size.choices)),
    Column(gettext_lazy("Priority"), "priority", dict(Priority.choices)),
    Column(gettext_lazy("Data sensitivity"), "data_sensitivity", dict(DataSensitivity.choices)),
    Column(gettext_lazy("Status"), "status", dict(OrderStatus.choices)),
    Column(gettext_lazy("Placed"), "created_at"),
    Column(gettext_lazy("Requested delivery"), "requested_delivery"),
    Column(gettext_lazy("Promised delivery"), "promised_delivery"),
    Column(gettext_lazy("ETA"), "eta"),
    Column(gettext_lazy("Delivered"), "delivered_at"),
    Column(gettext_lazy("Compute used (PFLOPS·h)"), "compute_pflops_hours"),
    Column(gettext_lazy("Compute cost (CNY)"), "compute_cost"),
    Column(gettext_lazy("Rating"), "rating"),
)


def timeline_header() -> list[str]:
    return [_("At"), _("Event"), _("From"), _("To"), _("Workshop"), _("By"), _("Note")]


def _status(value: str) -> str:
    return OrderStatus(value).label if value in OrderStatus.values else value


def timeline_row(event: OrderEvent) -> tuple:
    """One event of the order's audit timeline, as the staff read it (internal events too)."""
    return (
        event.at,
        event.get_kind_display(),
        _status(event.from_status),
        _status(event.to_status),
        event.get_workshop_display() if event.workshop else "",
        person_name(event.actor) if event.actor_id else _("Factory"),
        event.note,
    )
