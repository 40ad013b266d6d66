"""The ticket queue as a spreadsheet (factory.exports): one row per ticket with its SLA."""

from django.utils.translation import gettext_lazy

from aftersales.models import Category, Severity, TicketStatus
from factory.exports import Column

TICKET_COLUMNS = (
    Column(gettext_lazy("Reference"), "reference"),
    Column(gettext_lazy("Subject"), "subject"),
    Column(gettext_lazy("Order"), "order__reference"),
    Column(gettext_lazy("Client"), "order__client__name"),
    Column(gettext_lazy("Category"), "category", dict(Category.choices)),
    Column(gettext_lazy("Severity"), "severity", dict(Severity.choices)),
    Column(gettext_lazy("Status"), "status", dict(TicketStatus.choices)),
    Column(gettext_lazy("Opened"), "opened_at"),
    Column(gettext_lazy("First response due"), "first_response_due"),
    Column(gettext_lazy("First responded"), "first_responded_at"),
    Column(gettext_lazy("Resolution due"), "resolution_due"),
    Column(gettext_lazy("Resolved"), "resolved_at"),
    Column(gettext_lazy("SLA breached"), "breached"),
    Column(gettext_lazy("Rating"), "rating"),
)
