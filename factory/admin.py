"""What every app's admin shares: records written only by services are shown, never added, changed or deleted.

The factory's records change through each app's services (which keep history, references and invariants); the
admin shows them read-only with these, and registers nothing itself.
"""

from django.contrib import admin


class ReadOnlyAdminMixin:
    """Viewable, never added, changed or deleted in the admin: the app's services write these records."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Rows shown under their parent (a ticket's thread, a review's findings, an order's timeline), read-only."""

    extra = 0
    can_delete = False
