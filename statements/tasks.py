from celery import shared_task

from statements import services


# Issues last month's statements once the factory clock has passed its end; idempotent (one per client and month).
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def issue_monthly_statements():
    services.statements_issue_monthly()
