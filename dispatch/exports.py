"""The jobs' list as a spreadsheet (factory.exports): one row per job, where it runs or why it waits."""

from django.utils.translation import gettext as _

from dispatch.display import pending_reason
from dispatch.models import Job, UtilizationSample
from orders.models import Priority


def export_header() -> list[str]:
    return [
        _("Job"),
        _("Order"),
        _("Client"),
        _("Step"),
        _("Pool kind"),
        _("State"),
        _("Priority"),
        _("Pool"),
        _("Demand (PFLOPS)"),
        _("Work (PFLOPS·h)"),
        _("Done (PFLOPS·h)"),
        _("Queued"),
        _("Started"),
        _("Finished"),
        _("Deadline"),
        _("Waiting because"),
        _("Cost (CNY)"),
    ]


def export_row(job: Job) -> tuple:
    return (
        job.pk,
        job.order.reference,
        job.order.client.name,
        job.step.name,
        job.get_kind_display(),
        job.get_state_display(),
        Priority(job.priority).label if job.priority in Priority.values else job.priority,
        job.pool.name if job.pool_id else "",
        job.demand_pflops,
        job.work_pflops_hours,
        job.done_pflops_hours,
        job.queued_at,
        job.started_at,
        job.finished_at,
        job.deadline,
        str(pending_reason(job.pending_reason).words) if job.pending_reason else "",
        job.cost,
    )


def utilization_header() -> list[str]:
    return [
        _("At"),
        _("Pool"),
        _("Used by our jobs (PFLOPS)"),
        _("Background load (PFLOPS)"),
        _("Capacity (PFLOPS)"),
        _("Queued jobs of its kind"),
        _("Charged since the sample before (CNY)"),
    ]


def utilization_row(sample: UtilizationSample) -> tuple:
    return (
        sample.at,
        sample.pool.name,
        sample.used_pflops,
        sample.background_pflops,
        sample.capacity_pflops,
        sample.queued_jobs,
        sample.cost,
    )
