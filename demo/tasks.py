"""Periodic work of the top layer. Tasks only call services; schedules live in settings.CELERY_BEAT_SCHEDULE."""

import logging

from celery import shared_task

from demo import staff as demo

logger = logging.getLogger(__name__)


# One round of the demo's simulated staff; a no-op outside demo mode. Rounds never overlap (an advisory
# lock) and decide from object ids and the clock, so a lost or late round is simply caught up by the next.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=30, time_limit=45)
def simulate_staff():
    report = demo.simulate_round()
    if report.actions:
        logger.info("demo round: %s", ", ".join(f"{count} {kind}" for kind, count in sorted(report.actions.items())))
