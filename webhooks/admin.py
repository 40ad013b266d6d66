"""Webhooks in the admin: read-only. Endpoints are the clients' own (registered and disabled in the portal or the
API, webhooks.services); deliveries are the record of what was sent."""

from django.contrib import admin

from webhooks.models import Delivery, Endpoint


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnly):
    list_display = ["url", "client", "created_at", "disabled_at"]
    search_fields = ["url", "client__name"]
    list_select_related = ["client"]
    exclude = ["secret"]  # the client's to keep


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["event_id", "kind", "endpoint", "status", "attempts", "last_status_code", "at"]
    list_filter = ["status", "kind"]
    search_fields = ["event_id", "endpoint__url"]
    list_select_related = ["endpoint"]
    date_hierarchy = "at"
