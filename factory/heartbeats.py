"""When each periodic task last ran, so that /healthz can tell a stalled worker or beat from a healthy one.

Every task in settings.CELERY_BEAT_SCHEDULE records its last successful run (factory.tasks.FactoryTask),
one row per task. A task more than LATE_PERIODS of its own periods behind makes the factory "degraded",
named in /healthz; more than DOWN_PERIODS makes /healthz answer 503: pages still answer, but nothing moves
(no tick places jobs, no forecast refreshes ETAs). The dispatch tick's row is its heartbeat: the wall time
and the factory time of the last tick.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from factory import clock
from factory.models import PeriodicRun

LATE_PERIODS = 3
DOWN_PERIODS = 10
# What a periodic task returns when it did not do its work (it found another run holding the work's lock): no
# heartbeat then. A run stuck holding the lock (a stalled worker, on this host or another) would otherwise be
# covered by every tick that skips behind it, and /healthz would say ok while nothing moves.
NOT_A_RUN = "not a run: no heartbeat"


def _periods() -> dict[str, float]:
    """Task name → its period in seconds."""
    return {entry["task"]: float(entry["schedule"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def record(task_name: str) -> None:
    """Note that `task_name` just ran to its end (a no-op for tasks beat does not schedule)."""
    if task_name not in _periods():
        return
    now = timezone.now()
    PeriodicRun.objects.update_or_create(
        task=task_name,
        defaults={"finished_at": now, "factory_time": clock.now()},
        create_defaults={"first_run_at": now, "finished_at": now, "factory_time": clock.now()},
    )


@dataclass(frozen=True)
class Beat:
    task: str
    period_seconds: float
    finished_at: datetime | None  # None: never ran
    factory_time: datetime | None
    periods_behind: float | None  # None: no task ever ran

    @property
    def late(self) -> bool:
        return self.periods_behind is None or self.periods_behind > LATE_PERIODS

    @property
    def down(self) -> bool:
        return self.periods_behind is not None and self.periods_behind > DOWN_PERIODS


def beats() -> list[Beat]:
    """Every scheduled task with its last run and how many of its periods ago that was (one query).

    A task that never ran is counted from the first run of any task (the worker and beat started then): a
    fresh start is not late, a task that never comes is. With no run at all, every task is late.
    """
    runs = {run.task: run for run in PeriodicRun.objects.all()}
    now = timezone.now()
    started = min((run.first_run_at for run in runs.values()), default=None)
    result = []
    for task, period in sorted(_periods().items()):
        run = runs.get(task)
        since = run.finished_at if run is not None else started
        behind = None if since is None else max((now - since).total_seconds(), 0.0) / period
        result.append(
            Beat(
                task=task,
                period_seconds=period,
                finished_at=run.finished_at if run else None,
                factory_time=run.factory_time if run else None,
                periods_behind=behind,
            )
        )
    return result
