import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factory.settings")

# Every task, @shared_task ones included, counts its deliveries so one that keeps killing its worker stops
# (factory/tasks.py).
app = Celery("factory", task_cls="factory.tasks:FactoryTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
