"""The examples of the dispatch API in /api/schema/ (factory.api_examples): the trusted training pool of the provincial
computing center, the job it runs for order AF-2026-00042 (orders.api_examples) and that order's priority action."""

from django.utils.translation import gettext_lazy as _

from factory.api_examples import MomentAhead, example, page
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


# --- What-if scenarios: the trusted training pool offline three days for its cooling upgrade --------------------

SCENARIO_ID, RUN_ID = 12, 31
OFFLINE = {
    "type": "pool_state",
    "pool": POOL["id"],
    "state": "offline",
    "start": MomentAhead(3, 22),
    "end": MomentAhead(6, 22),
}
MAKING = {
    "name": "Hall B cooling upgrade",
    "description": "Can the trusted training pool go offline for three days next week without breaking a promise?",
    "horizon_days": 90,
}
SCENARIO = {
    "id": SCENARIO_ID,
    **MAKING,
    "changes": [OFFLINE],
    "created_by": "zhang.wei",
    "created_at": "2026-09-16T09:12:00+08:00",
    "archived": False,
    "archived_at": None,
    "status": None,
    "latest_run": None,
    "summary": None,
    "orders": None,
    "runs": [],
}
QUEUED = {
    "id": RUN_ID,
    "scenario": SCENARIO_ID,
    "scenario_name": MAKING["name"],
    "state": "queued",
    "progress": 0.0,
    "started_by": "zhang.wei",
    "horizon_days": 90,
    "changes": [OFFLINE],
    "queued_at": "2026-09-16T09:14:00+08:00",
    "simulated_from": None,
    "finished_at": None,
    "seconds": None,
    "error": "",
    "result": None,
}


def _figures(on_time: float, late: int, wait: float, training: list) -> dict:
    return {
        "on_time_rate": on_time,
        "late": late,
        "queue_wait_hours": {"low": None, "normal": wait, "high": round(wait / 3, 2), "urgent": None},
        "utilization": {
            "at": ["2026-09-16T09:14:00+08:00", "2026-09-17T05:50:00+08:00", "2026-09-18T02:26:00+08:00"],
            "data_processing": [0.41, 0.38, 0.44],
            "training": training,
            "inference": [0.12, 0.1, None],
        },
    }


DONE = {
    **QUEUED,
    "state": "done",
    "progress": 1.0,
    "simulated_from": "2026-09-16T09:14:05+08:00",
    "finished_at": "2026-09-16T09:14:09+08:00",
    "seconds": 3.8,
    "result": {
        "simulated_from": "2026-09-16T09:14:05+08:00",
        "horizon_end": "2026-12-15T09:14:05+08:00",
        "orders": [
            {
                "order": ORDER_ID,
                "reference": ORDER["reference"],
                "title": ORDER["title"],
                "client": HOSPITAL["client_name"],
                "priority": "normal",
                "due": "2026-10-12T18:00:00+08:00",
                "baseline_eta": "2026-10-09T16:00:00+08:00",
                "eta": "2026-10-13T11:00:00+08:00",
                "slip_hours": 91.0,
                "broken": True,
            }
        ],
        "baseline": _figures(0.94, 2, 5.5, [0.83, 0.9, 0.88]),
        "scenario": _figures(0.88, 4, 14.25, [0.97, 0.99, 0.98]),
        "broken": 1,
        "slipped": 6,
        "gained": 0,
        "notes": [],
    },
}
RAN = {**SCENARIO, "status": "done", "latest_run": {"id": RUN_ID, "state": "done", "progress": 1.0}}


def _run_row(run: dict) -> dict:
    return {key: run[key] for key in ("id", "state", "progress", "started_by", "queued_at", "finished_at")}


# Made with its change, and so its first run queued.
MADE = {**SCENARIO, "status": "queued", "latest_run": {"id": RUN_ID, "state": "queued", "progress": 0.0}}
MADE["runs"] = [_run_row(QUEUED)]
RAN_DETAIL = {
    **RAN,
    "summary": {
        "on_time_rate": {"baseline": 0.94, "scenario": 0.88},
        "utilization": {
            "data_processing": {"baseline": 0.41, "scenario": 0.41},
            "training": {"baseline": 0.87, "scenario": 0.98},
            "inference": {"baseline": 0.11, "scenario": 0.11},
        },
        "broken": 1,
        "slipped": 6,
        "gained": 0,
    },
    "orders": [
        {
            "order": ORDER_ID,
            "reference": ORDER["reference"],
            "eta_baseline": "2026-10-09T16:00:00+08:00",
            "eta_scenario": "2026-10-13T11:00:00+08:00",
            "slip_hours": 91.0,
        }
    ],
    "runs": [_run_row(DONE)],
}
BIGGER = {"type": "pool_capacity", "pool": POOL["id"], "capacity_pflops": 620.0}

example(
    "scenarios_list",
    summary=_("The scenarios in use, with their latest run"),
    answer=page({key: value for key, value in RAN.items() if key not in ("summary", "orders", "runs")}),
)
example(
    "scenarios_create",
    summary=_("A pool offline for three days next week: its first run is queued"),
    body={**MAKING, "changes": [OFFLINE]},
    answer=MADE,
    status=201,
)
example("scenarios_retrieve", summary=_("A scenario that ran"), parameters={"id": SCENARIO_ID}, answer=RAN_DETAIL)
example(
    "scenarios_changes_create",
    summary=_("Add 200 PFLOPS to the pool as well"),
    parameters={"id": SCENARIO_ID},
    body=BIGGER,
    answer={**RAN_DETAIL, "changes": [OFFLINE, BIGGER]},
)
example(
    "scenarios_remove_change_create",
    summary=_("Remove a change by its number"),
    parameters={"id": SCENARIO_ID},
    body={"number": 2},
    answer=RAN_DETAIL,
)
example(
    "scenarios_archive_create",
    summary=_("Archive a scenario once decided"),
    parameters={"id": SCENARIO_ID},
    answer={**RAN_DETAIL, "archived": True, "archived_at": "2026-09-18T10:00:00+08:00"},
)
example(
    "scenarios_run_create",
    summary=_("Run a scenario: its run is queued"),
    parameters={"id": SCENARIO_ID},
    answer=QUEUED,
    status=202,
)
example(
    "scenario_runs_retrieve",
    summary=_("A run done: a promise breaks"),
    parameters={"id": RUN_ID},
    answer=DONE,
)


# --- Reservations and maintenance windows: room held for the hospital's order, and the cooling upgrade booked --------

RESERVATION_ID, WINDOW_ID = 57, 58
HOLDING = {
    "kind": "reservation",
    "pool": POOL["id"],
    "start": MomentAhead(1, 20),
    "end": MomentAhead(3, 8),
    "pflops": 64.0,
    "order": ORDER_ID,
    "reason": "The hospital's fine-tuning run must finish before the cardiology ward opens.",
}
CLOSING = {
    "kind": "maintenance",
    "pool": POOL["id"],
    "start": MomentAhead(3, 22),
    "end": MomentAhead(6, 22),
    "closes_to": "offline",
    "reason": "Hall B cooling upgrade: the pool is off while the chillers are replaced.",
}
BOOKED = {
    "pool_name": POOL["name"],
    "state": "upcoming",
    "created_by": "zhang.wei",
    "created_at": "2026-09-16T10:02:00+08:00",
    "cancelled_at": None,
    "cancelled_by": None,
    "cancel_reason": "",
}
RESERVED = {
    "id": RESERVATION_ID,
    **HOLDING,
    **BOOKED,
    "client": HOSPITAL["client"],
    "client_name": HOSPITAL["client_name"],
    "order_reference": ORDER["reference"],
    "closes_to": "",
}
WINDOW = {
    "id": WINDOW_ID,
    **CLOSING,
    **BOOKED,
    "pflops": None,
    "client": None,
    "client_name": None,
    "order": None,
    "order_reference": None,
}

example(
    "reservations_list",
    summary=_("What is booked from now on"),
    parameters={"in_force": True},
    answer=page(RESERVED, WINDOW),
)
example("reservations_retrieve", summary=_("A maintenance window"), parameters={"id": WINDOW_ID}, answer=WINDOW)
example(
    "reservations_create",
    "reservation",
    summary=_("Hold 64 PFLOPS for an order's jobs"),
    body=HOLDING,
    answer=RESERVED,
    status=201,
)
example(
    "reservations_create",
    "maintenance",
    summary=_("Close a pool for three days of maintenance"),
    body=CLOSING,
    answer=WINDOW,
    status=201,
)
example(
    "reservations_cancel_create",
    summary=_("Cancel a reservation no longer needed"),
    parameters={"id": RESERVATION_ID},
    body={"reason": "The hospital moved the ward's opening to next spring."},
    answer={
        **RESERVED,
        "state": "cancelled",
        "cancelled_at": "2026-09-17T09:30:00+08:00",
        "cancelled_by": "zhang.wei",
        "cancel_reason": "The hospital moved the ward's opening to next spring.",
    },
)


# --- Scheduled pool changes: hall B's new racks -------------------------------------------------------------------

POOL_CHANGE_ID = 31
GROWING = {
    "pool": POOL["id"],
    "at": MomentAhead(14, 8),
    "capacity_pflops": 620.0,
    "reason": "Hall B's new racks are accepted on the 14th: 108 PFLOPS more.",
}
GROWN = {
    "id": POOL_CHANGE_ID,
    **GROWING,
    "pool_name": POOL["name"],
    "state": "",
    "created_by": "zhang.wei",
    "created_at": "2026-09-16T10:05:00+08:00",
    "cancelled_at": None,
    "cancelled_by": None,
    "cancel_reason": "",
    "carried_out_at": None,
    "capacity_before": None,
    "state_before": "",
    "promoted_from": None,
}

example(
    "pool_changes_list", summary=_("What is to change on the pools"), parameters={"pending": True}, answer=page(GROWN)
)
example(
    "pool_changes_retrieve", summary=_("More capacity from a date"), parameters={"id": POOL_CHANGE_ID}, answer=GROWN
)
example(
    "pool_changes_create",
    summary=_("More capacity from the day the new racks are accepted"),
    body=GROWING,
    answer=GROWN,
    status=201,
)
example(
    "pool_changes_cancel_create",
    summary=_("Cancel a change that will not happen"),
    parameters={"id": POOL_CHANGE_ID},
    body={"reason": "The racks' delivery slipped to next quarter."},
    answer={
        **GROWN,
        "cancelled_at": "2026-09-20T15:10:00+08:00",
        "cancelled_by": "zhang.wei",
        "cancel_reason": "The racks' delivery slipped to next quarter.",
    },
)


example(
    "scenario_runs_promote_create",
    summary=_("Make the run's pool changes real"),
    parameters={"id": RUN_ID},
    body={"reason": "Cooling loop service agreed with the center for next week"},
    answer={
        "run": RUN_ID,
        "windows": [
            {
                **WINDOW,
                "start": OFFLINE["start"],
                "end": OFFLINE["end"],
                "reason": "Cooling loop service agreed with the center for next week (scenario Hall B cooling, run "
                f"#{RUN_ID}, change #1)",
            }
        ],
        "pool_changes": [],
    },
    status=201,
)
