from celery import shared_task

from aftersales import services


# Flags SLA risks and breaches for the ticket queue, and closes long-resolved tickets; idempotent.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=30, time_limit=45)
def sla_watch():
    services.sla_watch()
