"""Notices in the admin: read-only, to answer "was I told, and was the e-mail sent?". They are made by the factory's
events (notifications.services.notify), never by hand."""

from django.contrib import admin

from factory.admin import ReadOnlyInline
from notifications.models import Delivery, Notice


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ["channel", "status", "attempts", "last_error", "sent_at"]
    readonly_fields = fields


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["event", "kind", "recipient", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["event", "recipient__username"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
