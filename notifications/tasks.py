from smtplib import SMTPException

from celery import shared_task

from notifications import services


# One notice's e-mail. A refused or unreachable server is retried with a growing wait (30 s, 1 min, 2 min… up to an
# hour); the delivery records each attempt and gives up after services.EMAIL_ATTEMPTS.
@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=False,
    max_retries=services.EMAIL_ATTEMPTS - 1,
    soft_time_limit=30,
    time_limit=45,
)
def send_email(delivery_id):
    services.email_send(delivery_id=delivery_id)


# Yesterday's notices to those who chose the daily digest; idempotent (one digest per person and factory day).
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def send_digests():
    services.digests_send()
