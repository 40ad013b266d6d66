"""Statements in the admin: read-only. A statement is what was sent to the client; it is issued by the factory
clock or on demand (statements.services), never edited or deleted."""

from django.contrib import admin

from statements.models import Statement


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ["reference", "client", "kind", "period_start", "period_end", "issued_at", "issued_by"]
    list_filter = ["kind"]
    search_fields = ["reference", "client__name"]
    list_select_related = ["client", "issued_by"]
    date_hierarchy = "issued_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
