"""Django admin for clients and orders.

The order workflow (status, stages, steps, events, requirement changes, artifacts) changes only through
orders.services, which keep references, promised dates, progress, ETA and the timeline consistent. So
the admin is a window onto it: orders can be searched, filtered and corrected in their descriptive fields,
everything else is read-only, and the event history can be neither edited nor deleted.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from factory.admin import ReadOnlyAdminMixin, ReadOnlyInline
from orders import read_cache
from orders.models import (
    Artifact,
    ClientMembership,
    ClientOrganization,
    Order,
    OrderEvent,
    OrderStage,
    OrderStep,
    RequirementChange,
)


class ClientMembershipInline(admin.TabularInline):
    model = ClientMembership
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name_plural = _("client users")


@admin.register(ClientOrganization)
class ClientOrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "sector", "contact_email", "created_at"]
    list_filter = ["sector"]
    search_fields = ["name", "contact_email"]
    inlines = [ClientMembershipInline]


@admin.register(ClientMembership)
class ClientMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization"]
    list_filter = ["organization__sector"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


# --- Orders --------------------------------------------------------------------------------------


class OrderStageInline(ReadOnlyInline):
    model = OrderStage
    fields = ["position", "workshop", "status", "progress", "steps_done", "steps_total", "started_at", "finished_at"]
    readonly_fields = fields
    ordering = ["position"]
    show_change_link = True


class OrderEventInline(ReadOnlyInline):
    """The order's timeline, as written by the services: it cannot be edited or deleted."""

    model = OrderEvent
    fields = ["at", "kind", "workshop", "from_status", "to_status", "actor", "note", "internal"]
    readonly_fields = fields
    ordering = ["at", "id"]
    verbose_name_plural = _("timeline")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are placed through orders.services.order_submit (the portal, the staff order form or the API)
    so that each gets its reference, its promised delivery date and its first timeline event; the admin
    cannot add them. Workflow fields are read-only here for the same reason."""

    # What staff look an order up for, narrow enough to fit beside the filters on a laptop; the product type and
    # the placing date are in the filters and the date drill-down above the list.
    list_display = [
        "reference",
        "title",
        "client",
        "status",
        "priority",
        "progress_percent",
        "promised_delivery",
        "eta",
    ]
    list_filter = ["status", "product_type", "sector", "data_sensitivity", "priority", "client"]
    search_fields = ["reference", "title", "client__name"]
    date_hierarchy = "created_at"
    list_select_related = ["client"]
    autocomplete_fields = ["parent_order"]
    readonly_fields = [
        "reference",
        "created_at",
        "client",
        "placed_by",
        "status",
        "priority",
        "progress",
        "current_workshop",
        "eta",
        "accepted_at",
        "delivered_at",
        "closed_at",
        "rating",
        "rating_comment",
        "compute_pflops_hours",
        "compute_cost",
        "quoted_compute_pflops_hours",
        "quoted_cost",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "client", "title", "parent_order", "placed_by", "created_at"]}),
        (
            _("What is ordered"),
            {"fields": ["product_type", "sector", "data_sensitivity", "size", "priority", "requirements"]},
        ),
        (
            _("Progress and delivery"),
            {
                "fields": [
                    "status",
                    "progress",
                    "current_workshop",
                    "requested_delivery",
                    "promised_delivery",
                    "eta",
                    "accepted_at",
                    "delivered_at",
                    "closed_at",
                ]
            },
        ),
        (
            _("Compute and feedback"),
            {
                "fields": [
                    "quoted_compute_pflops_hours",
                    "quoted_cost",
                    "compute_pflops_hours",
                    "compute_cost",
                    "rating",
                    "rating_comment",
                ]
            },
        ),
    ]
    inlines = [OrderStageInline, OrderEventInline]

    def get_readonly_fields(self, request, obj=None):
        # What the order was made from is fixed once it is accepted (stages and steps follow from it).
        if obj is not None and obj.accepted_at is not None:
            return [*self.readonly_fields, "product_type", "size", "sector", "data_sensitivity"]
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # An order's history is kept: cancel it through the control center instead.
        return False

    @admin.display(description=_("progress"), ordering="progress")
    def progress_percent(self, order):
        return f"{order.progress}%"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The kept tracking page and API answer (orders.read_cache) show the edit at once.
        read_cache.orders_changed(order_ids=[obj.pk], tracking_tokens=[obj.tracking_token])


class OrderStepInline(ReadOnlyInline):
    model = OrderStep
    fields = ["position", "code", "name", "status", "pool_kind", "demand_pflops", "work_pflops_hours", "rework_count"]
    readonly_fields = fields
    ordering = ["position"]
    show_change_link = True


@admin.register(OrderStage)
class OrderStageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "workshop", "position", "status", "progress", "steps_done", "steps_total", "started_at"]
    list_filter = ["workshop", "status"]
    search_fields = ["order__reference", "order__title"]
    list_select_related = ["order"]
    inlines = [OrderStepInline]


@admin.register(OrderStep)
class OrderStepAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "order_reference", "workshop", "status", "pool_kind", "rework_count", "finished_at"]
    list_filter = ["status", "stage__workshop", "pool_kind"]
    search_fields = ["code", "name", "name_zh", "stage__order__reference"]
    list_select_related = ["stage__order"]

    @admin.display(description=_("order"), ordering="stage__order__reference")
    def order_reference(self, step):
        return step.stage.order.reference

    @admin.display(description=_("workshop"), ordering="stage__workshop")
    def workshop(self, step):
        return step.stage.get_workshop_display()


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The timeline: written only by the services, never added, edited or deleted by hand."""

    list_display = ["at", "order", "kind", "workshop", "from_status", "to_status", "actor", "internal"]
    list_filter = ["kind", "workshop", "internal"]
    search_fields = ["order__reference", "note", "actor__username"]
    date_hierarchy = "at"
    list_select_related = ["order", "actor"]


@admin.register(RequirementChange)
class RequirementChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "recorded_at", "recorded_by", "short_text"]
    search_fields = ["order__reference", "text"]
    date_hierarchy = "recorded_at"
    list_select_related = ["order", "recorded_by"]

    @admin.display(description=_("change"))
    def short_text(self, change):
        return change.text if len(change.text) <= 80 else f"{change.text[:79]}…"


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "version", "kind", "order", "size_bytes", "produced_at", "built_from"]
    list_filter = ["kind"]
    search_fields = ["name", "checksum", "order__reference"]
    list_select_related = ["order", "built_from"]
