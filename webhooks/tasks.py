from celery import shared_task

from webhooks import services


# One delivery's first attempt, queued when its event's transaction commits. Failures are not retried here: the wait
# before the next attempt is factory time, so the periodic sweep below sends it when it is due.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=75)
def send_webhook(delivery_id):
    services.delivery_send(delivery_id=delivery_id)


# Every pending delivery that is due, a bounded batch each run (services.SWEEP_BATCH at WEBHOOK_TIMEOUT_SECONDS each
# fits within the soft limit); idempotent: each delivery is locked while sent.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def send_due_webhooks():
    services.deliveries_send_due()
