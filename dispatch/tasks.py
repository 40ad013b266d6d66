"""Periodic dispatch work. Tasks only call services; schedules live in settings.CELERY_BEAT_SCHEDULE."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from dispatch import forecast, services
from factory import clock, heartbeats

logger = logging.getLogger(__name__)


# A tick lost with its worker comes back (acks_late, task_reject_on_worker_lost, the Redis visibility timeout:
# settings.py) and is redone whole: it counts progress from DispatchState.last_tick_at in one transaction, and
# its advisory lock keeps two ticks from counting the same compute twice. No retries on errors: the next
# scheduled tick is the retry. tests/foundation/test_worker_faults.py kills workers mid-tick to prove it.
class FactoryClockBehind(RuntimeError):
    """The factory clock stands behind the last tick: no compute moves until it catches up."""


def _race_between_ticks() -> timedelta:
    """How far a tick may find the clock behind the last one when two ticks merely raced: two tick periods."""
    return timedelta(seconds=2 * settings.CELERY_BEAT_SCHEDULE["dispatch-tick"]["schedule"] * clock.speed())


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=30, time_limit=45)
def dispatch_tick():
    report = services.dispatch_tick()
    if report.clock_behind is not None and report.clock_behind > _race_between_ticks():
        # Failing (not returning) keeps the tick's heartbeat from being recorded: /healthz names it as late.
        raise FactoryClockBehind(
            f"The factory clock is {report.clock_behind} behind the last tick: no job advances until it catches up. "
            "Was the clock started from a stale origin (FACTORY_CLOCK_ORIGIN)? bin/run resumes it from the database."
        )
    if report.skipped:
        # Another tick held the lock, or won the race by a moment: that one records the heartbeat if it finishes.
        return heartbeats.NOT_A_RUN
    logger.info(
        "dispatch tick: %s finished, %s new jobs, %s placed, %s preempted, %s waiting",
        report.finished,
        report.created,
        report.placed,
        report.preempted,
        report.waiting,
    )


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def forecast_etas():
    report = forecast.forecast_etas()
    logger.info("ETA forecast: %s orders, %s ETAs changed, %.2f s", report.orders, report.updated, report.seconds)


# One run per person at a time (dispatch.services.scenario_run_start). A run lost with its worker is redelivered
# (acks_late) and taken up again once its silence shows it stopped (scenario_run_execute). Its limits stay within
# the longest task's (settings._LONGEST_TASK_SECONDS), which the broker's redelivery is set by: a run over them is
# failed with its reason, never run twice at once. A 90-day run over the demo factory takes about 4 s
# (bench/scenario.py).
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def run_scenario(run_id: int):
    run = services.scenario_run_execute(run_id=run_id)
    if run is not None:
        logger.info("scenario run %s: %s in %s s", run.pk, run.state, run.seconds)


# Clients past their monthly budget's warning share are told to operations and dispatch, once a month each.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=30, time_limit=45)
def watch_budgets():
    services.budgets_watch()
