"""The tickets' list as a spreadsheet (factory.exports): one row per ticket with its SLA."""

from django.utils.translation import gettext as _

from aftersales.models import Ticket


def export_header() -> list[str]:
    return [
        _("Reference"),
        _("Subject"),
        _("Order"),
        _("Client"),
        _("Category"),
        _("Severity"),
        _("Status"),
        _("Opened"),
        _("First response due"),
        _("First responded"),
        _("Resolution due"),
        _("Resolved"),
        _("SLA breached"),
        _("Rating"),
    ]


def export_row(ticket: Ticket) -> tuple:
    return (
        ticket.reference,
        ticket.subject,
        ticket.order.reference,
        ticket.order.client.name,
        ticket.get_category_display(),
        ticket.get_severity_display(),
        ticket.get_status_display(),
        ticket.opened_at,
        ticket.first_response_due,
        ticket.first_responded_at,
        ticket.resolution_due,
        ticket.resolved_at,
        ticket.breached,
        ticket.rating,
    )
