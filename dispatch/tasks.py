"""Periodic dispatch work. Tasks only call services; schedules live in settings.CELERY_BEAT_SCHEDULE."""

import logging

from celery import shared_task

from dispatch import forecast, services

logger = logging.getLogger(__name__)


# acks_late + the tick's advisory lock: a tick lost with its worker is simply run again by the next one,
# and two ticks never count the same compute twice. No retries: the next scheduled tick is the retry.
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
