"""The reviews' lists as a spreadsheet (factory.exports): one row per gate passage, with its decision."""

from django.utils.translation import gettext as _

from factory.people import person_name
from security.models import Review


def export_header() -> list[str]:
    return [
        _("Order"),
        _("Client"),
        _("Workshop"),
        _("Gate passage"),
        _("Status"),
        _("Sensitive data"),
        _("Approvals"),
        _("Opened"),
        _("Decided"),
        _("Waited (hours)"),
        _("Deciding reviewer"),
    ]


def export_row(review: Review) -> tuple:
    return (
        review.order.reference,
        review.order.client.name,
        review.get_workshop_display(),
        review.passage,
        review.get_status_display(),
        review.sensitive,
        f"{review.approvals_given}/{review.approvals_required}",
        review.opened_at,
        review.decided_at,
        round(review.waited.total_seconds() / 3600, 1),
        person_name(review.reviewer) if review.reviewer_id else "",
    )
