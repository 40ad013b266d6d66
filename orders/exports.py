"""The orders' list as a spreadsheet (factory.exports): one row per order, the columns a planner or an accountant
reads, in the reader's language."""

from django.utils.translation import gettext as _

from factory.people import person_name
from orders.models import Order, OrderEvent, OrderStatus


def export_header() -> list[str]:
    return [
        _("Reference"),
        _("Title"),
        _("Client"),
        _("Product type"),
        _("Size"),
        _("Priority"),
        _("Data sensitivity"),
        _("Status"),
        _("Placed"),
        _("Requested delivery"),
        _("Promised delivery"),
        _("ETA"),
        _("Delivered"),
        _("Compute used (PFLOPS·h)"),
        _("Compute cost (CNY)"),
        _("Rating"),
    ]


def export_row(order: Order) -> tuple:
    return (
        order.reference,
        order.title,
        order.client.name,
        order.get_product_type_display(),
        order.get_size_display(),
        order.get_priority_display(),
        order.get_data_sensitivity_display(),
        order.get_status_display(),
        order.created_at,
        order.requested_delivery,
        order.promised_delivery,
        order.eta,
        order.delivered_at,
        order.compute_pflops_hours,
        order.compute_cost,
        order.rating,
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
