"""Periodic dispatch work. Tasks only call services; schedules live in settings.CELERY_BEAT_SCHEDULE."""

import logging

from celery import shared_task

from dispatch import forecast, services

logger = logging.getLogger(__name__)


# A tick lost with its worker comes back (acks_late, task_reject_on_worker_lost, the Redis visibility timeout:
# settings.py) and is redone whole: it counts progress from DispatchState.last_tick_at in one transaction, and
# its advisory lock keeps two ticks from counting the same compute twice. No retries on errors: the next
# scheduled tick is the retry. tests/foundation/test_worker_faults.py kills workers mid-tick to prove it.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=30, time_limit=45)
def dispatch_tick():
    report = services.dispatch_tick()
    if not report.skipped:
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
