"""The jobs' list and a pool's utilization as spreadsheets (factory.exports)."""

from django.utils.translation import gettext_lazy

from catalog.models import PoolKind
from dispatch.display import pending_reason
from dispatch.models import JobState
from factory.exports import Column
from orders.models import Priority


def _waiting_because(code: str) -> str:
    return str(pending_reason(code).words) if code else ""


# One row per job: where it runs or why it waits.
JOB_COLUMNS = (
    Column(gettext_lazy("Job"), "id"),
    Column(gettext_lazy("Order"), "order__reference"),
    Column(gettext_lazy("Client"), "order__client__name"),
    Column(gettext_lazy("Step"), "step__name"),
    Column(gettext_lazy("Pool kind"), "kind", dict(PoolKind.choices)),
    Column(gettext_lazy("State"), "state", dict(JobState.choices)),
    Column(gettext_lazy("Priority"), "priority", dict(Priority.choices)),
    Column(gettext_lazy("Pool"), "pool__name"),
    Column(gettext_lazy("Demand (PFLOPS)"), "demand_pflops"),
    Column(gettext_lazy("Work (PFLOPS·h)"), "work_pflops_hours"),
    Column(gettext_lazy("Done (PFLOPS·h)"), "done_pflops_hours"),
    Column(gettext_lazy("Queued"), "queued_at"),
    Column(gettext_lazy("Started"), "started_at"),
    Column(gettext_lazy("Finished"), "finished_at"),
    Column(gettext_lazy("Deadline"), "deadline"),
    Column(gettext_lazy("Waiting because"), "pending_reason", _waiting_because),
    Column(gettext_lazy("Cost (CNY)"), "cost"),
)

# One row per utilization sample of a pool.
UTILIZATION_COLUMNS = (
    Column(gettext_lazy("At"), "at"),
    Column(gettext_lazy("Pool"), "pool__name"),
    Column(gettext_lazy("Used by our jobs (PFLOPS)"), "used_pflops"),
    Column(gettext_lazy("Background load (PFLOPS)"), "background_pflops"),
    Column(gettext_lazy("Capacity (PFLOPS)"), "capacity_pflops"),
    Column(gettext_lazy("Queued jobs of its kind"), "queued_jobs"),
    Column(gettext_lazy("Charged since the sample before (CNY)"), "cost"),
)
