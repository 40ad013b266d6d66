"""Django admin for the dispatch center: sites, pools, budgets (editable) and the tick's records (read-only).

Reservations and maintenance windows are booked and cancelled on a pool's page and through the API
(dispatch.services.reservation_create, reservation_cancel); the admin shows them, never changes one.

Scenarios and their runs are made, changed, run and archived on their pages and through the API (dispatch.services);
the admin shows them and never deletes one: a run's result is the record of a decision.

Pool states change only through dispatch.services.pool_change_state (so every change has a reason and a
history, and an offline pool's jobs go back to the queue): the admin offers drain / offline / activate as
list actions, and the state and current load are read-only on the form. Jobs, preemptions, utilization
samples and state changes are written by the dispatch tick and the services; the admin only shows them.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from dispatch import display, services
from dispatch.errors import DispatchError
from dispatch.models import (
    WAITING_STATES,
    ClientBudget,
    ClientEntitlement,
    ComputePool,
    ComputeSite,
    Executor,
    Job,
    PoolStateChange,
    Preemption,
    Reservation,
    Scenario,
    ScenarioRun,
    ScheduledPoolChange,
    UtilizationSample,
)
from factory.admin import ReadOnlyAdminMixin, ReadOnlyInline

ADMIN_REASON = "admin action"


class ComputeSiteForm(forms.ModelForm):
    class Meta:
        model = ComputeSite
        fields = ["name", "city", "in_province", "monitored_pflops", "executor", "cluster"]

    def clean(self):
        cleaned = super().clean()
        executor, cluster = cleaned.get("executor"), cleaned.get("cluster", "")
        if executor == Executor.SLURM and cluster not in settings.SLURM_CLUSTERS:
            named = ", ".join(sorted(settings.SLURM_CLUSTERS)) or _("none")
            self.add_error(
                "cluster",
                _("Name a cluster of the SLURM_CLUSTERS setting (it names: %(named)s).") % {"named": named},
            )
        elif executor == Executor.SIMULATED and cluster:
            self.add_error("cluster", _("A simulated site runs on no cluster: leave this blank."))
        return cleaned


@admin.register(ComputeSite)
class ComputeSiteAdmin(admin.ModelAdmin):
    form = ComputeSiteForm
    list_display = ["name", "city", "in_province", "monitored_pflops", "executor", "cluster", "connection"]
    list_filter = ["in_province", "executor", "connection"]
    search_fields = ["name", "city"]
    # What the dispatch tick last found of the cluster: read, never set by hand.
    readonly_fields = ["connection", "connection_checked_at", "connection_error"]


class PoolStateChangeInline(ReadOnlyInline):
    model = PoolStateChange
    fields = ["at", "from_state", "to_state", "actor", "reason"]
    readonly_fields = fields
    ordering = ["-at", "-id"]
    verbose_name_plural = _("state history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


def _change_state(modeladmin, request, queryset, action: str):
    changed = 0
    for pool in queryset:
        try:
            services.pool_change_state(pool=pool, action=action, actor=request.user, reason=ADMIN_REASON)
        except DispatchError as error:
            modeladmin.message_user(request, error.message, messages.WARNING)
        else:
            changed += 1
    if changed:
        modeladmin.message_user(
            request,
            ngettext("%(count)d pool changed state.", "%(count)d pools changed state.", changed) % {"count": changed},
            messages.SUCCESS,
        )


@admin.register(ComputePool)
class ComputePoolAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "site",
        "kind",
        "trusted",
        "capacity_pflops",
        "used_pflops",
        "background_pflops",
        "state",
        "price_per_pflops_hour",
    ]
    list_filter = ["kind", "state", "trusted", "site"]
    search_fields = ["name", "site__name", "site__city"]
    list_select_related = ["site"]
    # Written by the dispatch tick (load) and the pool services (state): read-only here.
    readonly_fields = ["state", "used_pflops", "background_pflops"]
    inlines = [PoolStateChangeInline]
    actions = ["drain_pools", "take_pools_offline", "activate_pools"]

    @admin.action(description=_("Drain the selected pools (running jobs finish, no new ones start)"))
    def drain_pools(self, request, queryset):
        _change_state(self, request, queryset, "drain")

    @admin.action(description=_("Take the selected pools offline (running jobs go back to the queue)"))
    def take_pools_offline(self, request, queryset):
        _change_state(self, request, queryset, "offline")

    @admin.action(description=_("Activate the selected pools"))
    def activate_pools(self, request, queryset):
        _change_state(self, request, queryset, "activate")

    def has_delete_permission(self, request, obj=None):
        # A pool with a history of jobs is kept (jobs protect it anyway): take it offline instead.
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "order_reference",
        "step",
        "state",
        "priority",
        "kind",
        "pool",
        "demand_pflops",
        "done_pflops_hours",
        "work_pflops_hours",
        "why_it_waits",
        "queued_at",
    ]
    list_filter = ["state", "kind", "priority", "sensitive", "backfilled", "pool"]
    search_fields = ["order__reference", "step__code"]
    date_hierarchy = "queued_at"
    list_select_related = ["order", "step", "pool"]
    actions = ["retry_jobs"]

    @admin.action(description=_("Retry the selected jobs that stopped after lost runs on their cluster"))
    def retry_jobs(self, request, queryset):
        try:
            retried = services.jobs_retry(jobs=list(queryset), actor=request.user)
        except DispatchError as error:
            self.message_user(request, error.message, messages.WARNING)
            return
        self.message_user(
            request,
            ngettext("%(count)d job will be placed again.", "%(count)d jobs will be placed again.", retried)
            % {"count": retried},
            messages.SUCCESS,
        )

    @admin.display(description=_("order"), ordering="order__reference")
    def order_reference(self, job):
        return job.order.reference

    @admin.display(description=_("why it waits"), ordering="pending_reason")
    def why_it_waits(self, job):
        if job.state not in WAITING_STATES:
            return ""
        return display.pending_reason(job.pending_reason).words


@admin.register(Preemption)
class PreemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "pool", "preempted_order", "preempted_by_order", "eta_slips"]
    list_filter = ["pool"]
    search_fields = ["preempted__order__reference", "preempted_by__order__reference"]
    date_hierarchy = "at"
    list_select_related = ["pool", "preempted__order", "preempted_by__order"]

    @admin.display(description=_("preempted"))
    def preempted_order(self, preemption):
        return f"{preemption.preempted.order.reference} (job {preemption.preempted_id})"

    @admin.display(description=_("preempted by"))
    def preempted_by_order(self, preemption):
        return f"{preemption.preempted_by.order.reference} (job {preemption.preempted_by_id})"


@admin.register(UtilizationSample)
class UtilizationSampleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "pool", "used_pflops", "background_pflops", "capacity_pflops", "queued_jobs"]
    list_filter = ["pool"]
    date_hierarchy = "at"
    list_select_related = ["pool"]


@admin.register(PoolStateChange)
class PoolStateChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "pool", "from_state", "to_state", "actor", "reason"]
    list_filter = ["to_state", "pool"]
    search_fields = ["pool__name", "reason", "actor__username"]
    date_hierarchy = "at"
    list_select_related = ["pool", "actor"]


@admin.register(ClientBudget)
class ClientBudgetAdmin(admin.ModelAdmin):
    list_display = ["client", "monthly_pflops_hours", "warn_at", "enforce"]
    list_filter = ["enforce"]
    search_fields = ["client__name"]
    list_select_related = ["client"]
    autocomplete_fields = ["client"]

    def save_model(self, request, obj, form, change):
        # Through the service, like every other write (the form has already checked the values).
        saved = services.client_budget_set(
            client=obj.client, monthly_pflops_hours=obj.monthly_pflops_hours, warn_at=obj.warn_at, enforce=obj.enforce
        )
        obj.pk = saved.pk


@admin.register(ClientEntitlement)
class ClientEntitlementAdmin(admin.ModelAdmin):
    list_display = ["client", "kind", "weight"]
    list_filter = ["kind"]
    search_fields = ["client__name"]
    list_select_related = ["client"]
    autocomplete_fields = ["client"]

    def save_model(self, request, obj, form, change):
        # Through the service, like every other write (the form has already checked the values).
        saved = services.client_entitlement_set(client=obj.client, kind=obj.kind, weight=obj.weight)
        obj.pk = saved.pk


class ScenarioRunInline(ReadOnlyInline):
    model = ScenarioRun
    fields = ["state", "progress", "started_by", "queued_at", "finished_at", "seconds", "error"]
    readonly_fields = fields
    ordering = ["-queued_at", "-id"]


@admin.register(Scenario)
class ScenarioAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "horizon_days", "created_by", "created_at", "archived_at"]
    list_filter = [("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description"]
    date_hierarchy = "created_at"
    list_select_related = ["created_by"]
    inlines = [ScenarioRunInline]


@admin.register(ScenarioRun)
class ScenarioRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scenario", "state", "progress", "started_by", "queued_at", "finished_at", "seconds"]
    list_filter = ["state"]
    search_fields = ["scenario__name"]
    date_hierarchy = "queued_at"
    list_select_related = ["scenario", "started_by"]


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "pool", "start", "end", "pflops", "client", "order", "created_by", "cancelled_at"]
    list_filter = ["kind", ("cancelled_at", admin.EmptyFieldListFilter), "pool"]
    search_fields = ["pool__name", "client__name", "order__reference", "reason"]
    date_hierarchy = "start"
    list_select_related = ["pool", "client", "order", "created_by"]


@admin.register(ScheduledPoolChange)
class ScheduledPoolChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: a change is scheduled and cancelled on the pool's page (dispatch.services), which keep the record."""

    list_display = ["id", "pool", "at", "capacity_pflops", "state", "created_by", "carried_out_at", "cancelled_at"]
    list_filter = [("carried_out_at", admin.EmptyFieldListFilter), ("cancelled_at", admin.EmptyFieldListFilter), "pool"]
    search_fields = ["pool__name", "reason"]
    date_hierarchy = "at"
    list_select_related = ["pool", "created_by"]
