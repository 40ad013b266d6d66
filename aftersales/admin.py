"""Django admin for after-sales.

SLA policies are the admin's to edit. Tickets are opened, answered, moved and re-graded through
aftersales.services (the staff pages, the portal, the API), which keep references, SLA due times, breach flags
and the history consistent: here only a ticket's wording (subject, category) can be corrected; everything
else is read-only, and tickets, their threads and their history can never be deleted.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from aftersales.models import SlaPolicy, Ticket, TicketEvent, TicketMessage
from factory.admin import ReadOnlyInline


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """New windows apply to tickets opened (or re-graded) afterwards; open tickets keep their due times."""

    list_display = ["severity", "first_response_hours", "resolution_hours", "at_risk_share"]
    list_editable = ["first_response_hours", "resolution_hours", "at_risk_share"]
    ordering = ["resolution_hours"]

    def get_readonly_fields(self, request, obj=None):
        # A policy is its severity's: re-labelling one would silently swap the promises of two severities.
        return ["severity"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Without its policy no ticket of that severity can be opened or re-graded.
        return False


class TicketMessageInline(ReadOnlyInline):
    """The thread, internal notes included (the admin is staff-only)."""

    model = TicketMessage
    fields = ["at", "author", "from_staff", "internal", "body"]
    readonly_fields = fields
    ordering = ["at", "id"]
    verbose_name_plural = _("thread")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class TicketEventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["at", "kind", "from_value", "to_value", "actor", "note"]
    readonly_fields = fields
    ordering = ["at", "id"]
    verbose_name_plural = _("history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Tickets are opened through aftersales.services.ticket_open so that each gets its reference, its SLA due
    times and its first message; status and severity change through the control center, which keeps the SLA
    clocks and the history right. So the admin cannot add or delete tickets, and only their wording is edited."""

    list_display = ["reference", "subject", "client", "severity", "status", "breached", "opened_at"]
    list_filter = ["status", "severity", "category", "breached"]
    search_fields = ["reference", "subject", "order__reference"]
    list_select_related = ["order__client"]
    date_hierarchy = "opened_at"
    fieldsets = [
        (None, {"fields": ["reference", "order", "subject", "category", "opened_by", "opened_at"]}),
        (
            _("Status and SLA"),
            {
                "fields": [
                    "status",
                    "severity",
                    "first_response_due",
                    "first_responded_at",
                    "resolution_due",
                    "paused_at",
                    "paused_total",
                    "resolved_at",
                    "closed_at",
                    "at_risk",
                    "breached",
                    "breached_at",
                ]
            },
        ),
        (_("Follow-up and satisfaction"), {"fields": ["follow_up_order", "rating", "rating_comment"]}),
    ]
    readonly_fields = [field.name for field in Ticket._meta.fields if field.name not in ("id", "subject", "category")]
    inlines = [TicketMessageInline, TicketEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A ticket's history is kept: close it through the control center instead.
        return False

    @admin.display(description=_("client"), ordering="order__client__name")
    def client(self, ticket):
        return ticket.order.client
