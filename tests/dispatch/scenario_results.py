"""Scenario runs with a result, for the pages' tests: the result is built here in the shape dispatch.scenarios._result
documents and stored on the run as its worker leaves it (dispatch.services.scenario_run_execute), so no test of a page
runs the engine."""

from datetime import datetime, timedelta

from dispatch.charts import SLIP_TOLERANCE_HOURS
from dispatch.models import RunState, ScenarioRun
from factory import clock

KINDS = ("data_processing", "training", "inference")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _figures(rows: list[dict], *, eta: str, start: datetime, samples: int, offline_from: int | None, waits: dict):
    """One side's figures: on-time rate and late orders of `rows` by their `eta` key, utilization per pool kind
    (training offline from sample `offline_from`: no capacity offered, so no share), mean waits per priority."""
    counted = [row for row in rows if row["order"] is not None or eta == "eta"]
    on_time = sum(1 for row in counted if row[eta] is not None and row[eta] <= row["due"])
    at = [start + timedelta(hours=12 * number) for number in range(samples)]
    shares = {
        "data_processing": [round(0.35 + 0.01 * (number % 20), 4) for number in range(samples)],
        "training": [
            None if offline_from is not None and number >= offline_from else round(0.6 + 0.005 * number, 4)
            for number in range(samples)
        ],
        "inference": [round(0.2 + 0.3 * (number % 2), 4) for number in range(samples)],
    }
    return {
        "on_time_rate": round(on_time / len(counted), 4) if counted else None,
        "late": len(counted) - on_time,
        "queue_wait_hours": waits,
        "utilization": {"at": [moment.isoformat() for moment in at], **shares},
    }


def scenario_result(orders=(), *, slips=(), broken=(), new_orders=0, now=None, horizon_days=90, samples=40, notes=()):
    """A run's result over `orders` (Order objects): order i has its baseline ETA i + 1 days from now and slips by
    `slips[i]` hours (0 when not given); the orders whose index is in `broken` are due between the two ETAs, so their
    promise breaks. `new_orders` hypothetical orders of the first order's client come with the changes."""
    now = now or clock.now()
    rows = []
    for index, order in enumerate(orders):
        baseline = now + timedelta(days=index + 1)
        slip = slips[index] if index < len(slips) else 0.0
        eta = baseline + timedelta(hours=slip)
        due = baseline + (
            timedelta(hours=slip / 2) if index in broken else timedelta(days=2) + timedelta(hours=max(slip, 0))
        )
        rows.append(
            {
                "order": order.pk,
                "reference": order.reference,
                "title": order.title,
                "client": order.client.name,
                "priority": order.priority,
                "due": due,
                "baseline_eta": baseline,
                "eta": eta,
                "slip_hours": round(slip, 2),
                "broken": index in broken,
            }
        )
    client = orders[0].client.name if orders else "Organization A"
    for number in range(new_orders):
        rows.append(
            {
                "order": None,
                "reference": "",
                "title": "",
                "client": client,
                "priority": "high",
                "due": now + timedelta(days=30),
                "baseline_eta": None,
                "eta": now + timedelta(days=20 + number),
                "slip_hours": None,
                "broken": False,
            }
        )
    baseline = _figures(
        rows,
        eta="baseline_eta",
        start=now,
        samples=samples,
        offline_from=None,
        waits={"urgent": 0.25, "high": 1.5, "normal": 4.0, "low": 9.5},
    )
    scenario = _figures(
        rows,
        eta="eta",
        start=now,
        samples=samples,
        offline_from=samples // 4,
        waits={"urgent": 0.5, "high": 3.25, "normal": 10.0, "low": 26.0},
    )
    plain = [
        {**row, "due": _iso(row["due"]), "baseline_eta": _iso(row["baseline_eta"]), "eta": _iso(row["eta"])}
        for row in rows
    ]
    return {
        "simulated_from": now.isoformat(),
        "horizon_end": (now + timedelta(days=horizon_days)).isoformat(),
        "orders": plain,
        "baseline": baseline,
        "scenario": scenario,
        "broken": sum(1 for row in rows if row["broken"]),
        "slipped": sum(1 for row in rows if (row["slip_hours"] or 0) >= SLIP_TOLERANCE_HOURS),
        "gained": sum(1 for row in rows if (row["slip_hours"] or 0) <= -SLIP_TOLERANCE_HOURS),
        "notes": list(notes),
    }


def advance_run(run: ScenarioRun, progress: float) -> None:
    """The run taken by a worker and `progress` of the way through, as scenario_run_execute writes it."""
    ScenarioRun.objects.filter(pk=run.pk).update(
        state=RunState.RUNNING, progress=progress, simulated_from=run.simulated_from or clock.now()
    )


def finish_run(run: ScenarioRun, result: dict) -> ScenarioRun:
    """The run done with `result`, as scenario_run_execute leaves it."""
    ScenarioRun.objects.filter(pk=run.pk).update(
        state=RunState.DONE,
        progress=1.0,
        result=result,
        simulated_from=datetime.fromisoformat(result["simulated_from"]),
        finished_at=clock.now(),
        seconds=12.5,
    )
    run.refresh_from_db()
    return run


def fail_run(run: ScenarioRun, error: str) -> ScenarioRun:
    """The run failed with `error`, as scenario_run_execute leaves it."""
    ScenarioRun.objects.filter(pk=run.pk).update(state=RunState.FAILED, error=error, finished_at=clock.now())
    run.refresh_from_db()
    return run
