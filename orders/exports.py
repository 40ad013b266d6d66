"""The orders' list as a spreadsheet (factory.exports): one row per order, the columns a planner or an accountant
reads, in the reader's language."""

from django.utils.translation import gettext as _

from orders.models import Order


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
