from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from factory.admin import ReadOnlyAdminMixin, ReadOnlyInline
from security.models import Approval, ChecklistItem, Finding, Review, ReviewAnswer


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["workshop", "position", "text", "text_zh", "active"]
    list_display_links = ["workshop"]
    list_editable = ["position", "text", "text_zh", "active"]
    list_filter = ["workshop", "active"]
    search_fields = ["text", "text_zh"]
    ordering = ["workshop", "position"]


class AnswerInline(ReadOnlyInline):
    model = ReviewAnswer
    fields = ["position", "item", "passed", "note"]


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ["reviewer", "at"]


class FindingInline(ReadOnlyInline):
    model = Finding
    fields = ["severity", "text"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Reviews are the security history of orders: decided through the security center, never edited here."""

    list_display = ["order", "workshop", "passage", "status", "sensitive", "opened_at", "decided_at", "reviewer"]
    list_filter = ["status", "workshop", "sensitive"]
    search_fields = ["order__reference", "order__client__name"]
    list_select_related = ["order", "reviewer"]
    date_hierarchy = "opened_at"
    inlines = [AnswerInline, ApprovalInline, FindingInline]
    readonly_fields = [field.name for field in Review._meta.fields]

    @admin.display(description=_("gate passage"), ordering="gate_passage")
    def passage(self, review):
        return review.gate_passage + 1


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["review", "severity", "text"]
    list_filter = ["severity"]
    search_fields = ["text", "review__order__reference"]
    list_select_related = ["review__order"]
