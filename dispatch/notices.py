"""What the dispatch center tells its staff without being asked (notifications.kinds): a pool changed state, by a
person, a maintenance window or a scheduled change; a client's compute this month passed its budget's warning."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dispatch.models import PoolState
from factory import roles
from notifications.kinds import STAFF, EmailChoice, Kind, register
from notifications.selectors import events_told
from notifications.services import notify, staff_holding

POOL_STATE_CHANGED = "pool_state_changed"
BUDGET_NEAR_END = "budget_near_end"
JOB_RUNS_LOST = "job_runs_lost"

register(
    Kind(
        POOL_STATE_CHANGED,
        STAFF,
        label=_("A compute pool changes state"),
        title=_("Pool %(pool)s is now %(state)s"),
        line=_("It was %(was)s."),
        email=EmailChoice.OFF,
        choices={"state": PoolState, "was": PoolState},
    ),
    Kind(
        BUDGET_NEAR_END,
        STAFF,
        label=_("A client's monthly compute budget is near its end"),
        title=_("%(client)s has used %(share)s%% of this month's compute budget"),
        line=_("%(used)s of %(budget)s PFLOPS·h."),
    ),
    Kind(
        JOB_RUNS_LOST,
        STAFF,
        label=_("A job stops after its cluster lost it too many times"),
        title=_("Order %(order)s: step %(step)s stopped after %(attempts)s lost runs"),
        line=_("On pool %(pool)s. It waits until it is retried."),
    ),
)


def tell_runs_lost(jobs, pools, *, now) -> int:
    """Tell the dispatch staff of each job that stopped after too many lost runs on a real cluster (the alarm)."""
    staff = staff_holding(roles.DISPATCH) if jobs else []
    for job, pool_id in jobs:
        notify(
            kind=JOB_RUNS_LOST,
            event=f"job-runs-lost:{job.pk}:{now.isoformat()}",  # again after a retry: each stop is an event
            recipients=staff,
            params={
                "order": job.order.reference,
                "step": job.step.code,
                "attempts": job.attempts,
                "pool": pools[pool_id].name,
            },
            url=reverse("dispatch:pool", args=[pool_id]),
        )
    return len(jobs)


def tell_pool_state(change) -> int:
    """Tell the dispatch staff of a pool's change of state (`dispatch.models.PoolStateChange`)."""
    return notify(
        kind=POOL_STATE_CHANGED,
        event=f"pool-state:{change.pk}",
        recipients=staff_holding(roles.DISPATCH),
        params={"pool": change.pool.name, "state": change.to_state, "was": change.from_state},
        url=reverse("dispatch:pool", args=[change.pool_id]),
    )


def tell_budgets_near_end(*, budgets, usage: dict[int, float], month: str) -> int:
    """Tell operations and dispatch of each client past its budget's warning share this month, once a month."""
    near = [
        budget
        for budget in budgets
        if budget.monthly_pflops_hours
        and usage.get(budget.client_id, 0.0) >= float(budget.monthly_pflops_hours * budget.warn_at)
    ]
    told = events_told(f"budget-near-end:{budget.client_id}:{month}" for budget in near)
    fresh = [budget for budget in near if f"budget-near-end:{budget.client_id}:{month}" not in told]
    staff = staff_holding(roles.OPERATIONS, roles.DISPATCH) if fresh else []
    for budget in fresh:
        used = usage[budget.client_id]
        notify(
            kind=BUDGET_NEAR_END,
            event=f"budget-near-end:{budget.client_id}:{month}",
            recipients=staff,
            params={
                "client": budget.client.name,
                "share": round(100 * used / float(budget.monthly_pflops_hours)),
                "used": round(used),
                "budget": str(budget.monthly_pflops_hours.normalize()),
            },
            url=reverse("client", args=[budget.client_id]),
        )
    return len(fresh)
