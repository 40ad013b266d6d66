"""The examples of the dispatch API in /api/schema/ (factory.api_examples): the trusted training pool of the provincial
computing center, the job it runs for order AF-2026-00042 (orders.api_examples) and that order's priority action."""

from django.utils.translation import gettext_lazy as _

from factory.api_examples import example, page
from orders.api_examples import HOSPITAL, ORDER, ORDER_ID, STEP_IDS

SITE = {"site": "Xinghe Provincial AI Computing Center", "site_city": "Xinghe", "in_province": True}
# Trusted and in the province: the only kind of pool that may train on the hospital's sensitive data.
POOL = {
    "id": 3,
    "name": "xinghe-train-trusted",
    **SITE,
    "trusted": True,
    "kind": "training",
    "capacity_pflops": 420.0,
    "used_pflops": 32.0,
    "background_pflops": 118.5,
    "free_pflops": 269.5,
    "monitored_pflops": 2600.0,
    "state": "active",
    "price_per_pflops_hour": "36.00",
    "running_jobs": 1,
}
DATA_POOL = {
    **POOL,
    "id": 4,
    "name": "xinghe-data-trusted",
    "kind": "data_processing",
    "capacity_pflops": 160.0,
    "used_pflops": 0.0,
    "background_pflops": 41.2,
    "free_pflops": 118.8,
    "price_per_pflops_hour": "32.00",
    "running_jobs": 0,
}
JOB = {
    "id": 1187,
    "order": ORDER_ID,
    "order_reference": ORDER["reference"],
    **HOSPITAL,
    "step": STEP_IDS["hparam_sweep"],
    "step_code": "model-hparam-sweep",
    "step_name": "Hyperparameter sweep",
    "pool": POOL["id"],
    "pool_name": POOL["name"],
    "state": "running",
    "priority": "normal",
    "pool_kind": "training",
    "sensitive": True,
    "demand_pflops": 32.0,
    "work_pflops_hours": 768.0,
    "done_pflops_hours": 307.2,
    "progress": 40.0,
    "deadline": "2026-10-03T18:00:00+08:00",
    "queued_at": "2026-09-16T08:00:00+08:00",
    "started_at": "2026-09-16T08:00:05+08:00",
    "finished_at": None,
    "pending_reason": "",
    "pending_reason_display": "",
    "expected_start": None,
    "cost": "11059.20",
}


def _sample(at: str, used: float, background: float, queued: int) -> dict:
    return {
        "at": at,
        "used_pflops": used,
        "background_pflops": background,
        "capacity_pflops": POOL["capacity_pflops"],
        "queued_jobs": queued,
    }


example("pools_list", summary=_("The trusted pools of the provincial computing center"), answer=page(POOL, DATA_POOL))
example("pools_retrieve", summary=_("A trusted training pool"), parameters={"id": POOL["id"]}, answer=POOL)
example(
    "pools_utilization_list",
    summary=_("A training pool's load, sample by sample"),
    parameters={"id": POOL["id"], "hours": 24},
    answer=[
        _sample("2026-09-16T07:59:55+08:00", 0.0, 121.0, 1),
        _sample("2026-09-16T08:00:05+08:00", 32.0, 120.4, 0),
        _sample("2026-09-16T08:00:15+08:00", 32.0, 118.5, 0),
    ],
)
example(
    "pools_drain_create",
    summary=_("Drain a pool before maintenance"),
    parameters={"id": POOL["id"]},
    body={"reason": "Firmware upgrade of the InfiniBand switches on Saturday night."},
    answer={**POOL, "state": "draining", "free_pflops": 0.0},
)
example(
    "pools_offline_create",
    summary=_("Take a pool offline: its running jobs go back to the queue"),
    parameters={"id": POOL["id"]},
    body={"reason": "Cooling failure in hall B."},
    answer={**POOL, "state": "offline", "used_pflops": 0.0, "free_pflops": 0.0, "running_jobs": 0},
)
example(
    "pools_activate_create",
    summary=_("Put a pool back to work"),
    parameters={"id": POOL["id"]},
    body={"reason": "Upgrade finished and the interconnect tested."},
    answer={**POOL, "used_pflops": 0.0, "free_pflops": 301.5, "running_jobs": 0},
)
example(
    "jobs_list",
    summary=_("The jobs running on a pool"),
    parameters={"state": "running", "pool": POOL["id"]},
    answer=page(JOB),
)
example("jobs_retrieve", summary=_("A running training job"), parameters={"id": JOB["id"]}, answer=JOB)
example(
    "orders_priority_create",
    summary=_("Raise an order's priority: its jobs follow at once"),
    parameters={"id": ORDER_ID},
    body={"priority": "high", "reason": "The new cardiology ward opens two weeks earlier."},
    answer={**ORDER, "priority": "high"},
)
