from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from orders.models import ClientMembership, ClientOrganization


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
