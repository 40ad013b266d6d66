from celery import shared_task

from security import services


# A gate that became ready should show up in the reviewers' queue within seconds; opening is idempotent.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=30, time_limit=45)
def open_reviews():
    services.reviews_open_for_waiting_gates()


# Reviews pending longer than REVIEW_WAIT_NOTICE_HOURS are told to the reviewers, once each.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=30, time_limit=45)
def watch_waiting_reviews():
    services.reviews_watch_waiting()
