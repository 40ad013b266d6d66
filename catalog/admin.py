from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from catalog.models import ProcessStep, RoutingStage, Toolchain


@admin.register(Toolchain)
class ToolchainAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_zh", "step_count"]
    list_filter = ["steps__workshop"]
    search_fields = ["code", "name", "name_zh", "description"]
    ordering = ["code"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(step_count=Count("steps", distinct=True))

    @admin.display(description=_("steps"), ordering="step_count")
    def step_count(self, obj):
        return obj.step_count


@admin.register(ProcessStep)
class ProcessStepAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "name_zh",
        "workshop",
        "position",
        "pool_kind",
        "demand_pflops",
        "work_pflops_hours",
        "nominal_hours",
        "min_size",
    ]
    list_filter = ["workshop", "pool_kind", "min_size"]
    search_fields = ["code", "name", "name_zh", "toolchains__code"]
    filter_horizontal = ["toolchains"]
    ordering = ["workshop", "position"]
    fieldsets = [
        (None, {"fields": ["code", "name", "name_zh", "workshop", "position"]}),
        (_("Compute"), {"fields": ["pool_kind", "demand_pflops", "work_pflops_hours", "nominal_hours", "min_size"]}),
        (_("Toolchains"), {"fields": ["toolchains"]}),
    ]


@admin.register(RoutingStage)
class RoutingStageAdmin(admin.ModelAdmin):
    list_display = ["product_type", "position", "workshop"]
    list_filter = ["product_type", "workshop"]
    ordering = ["product_type", "position"]
