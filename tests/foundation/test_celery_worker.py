import threading

import pytest
from celery.contrib.testing.worker import start_worker

from factory.celery import app as celery_app

pytestmark = pytest.mark.worker

_executed = threading.Event()


@celery_app.task(name="tests.foundation.record_execution")
def record_execution(marker):
    _executed.marker = marker
    _executed.set()


def test_real_worker_executes_a_task_sent_through_the_configured_broker():
    _executed.clear()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        record_execution.delay("through the broker")

        assert _executed.wait(timeout=30), f"no worker ran the task via {celery_app.conf.broker_url}"
    assert _executed.marker == "through the broker"
