"""The embedded broker of bin/run keeps the messages of a worker that died (devrun.broker).

Real `celery worker` processes, with the pool and broker bin/run gives them (threads on the filesystem broker),
run in a data folder of the test's own and are killed with SIGKILL, as a crash or the OOM killer would: in the
middle of a task, and while idle. The task a killed worker held runs again on the next worker, once; a task
that kills every worker it lands on stops after task_max_deliveries deliveries. The fast tests check the same
on the transport itself, with a process that takes a message and dies.
"""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings as django_settings
from kombu import Connection

from devrun import embedded
from factory.celery import app as celery_app
from tests.processes import alive, kill_group, start_worker, wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
MAX_DELIVERIES = 3


# --- Tasks the test workers import (--include this module) ----------------------------------------------------


@celery_app.task(name="tests.embedded_broker.hold", ignore_result=True)
def hold(folder, tag):
    """Records its run, then works until the test releases it (a long task the worker can be killed in)."""
    folder = Path(folder)
    with (folder / f"{tag}.runs").open("a") as runs:
        runs.write(f"{os.getpid()}\n")
    wait_for(lambda: (folder / f"{tag}.release").exists(), "the test to release the task", timeout=300)
    (folder / f"{tag}.done").write_text(str(os.getpid()))


@celery_app.task(name="tests.embedded_broker.kill_own_worker", ignore_result=True)
def kill_own_worker(folder, tag):
    """Stands for a task that takes its worker down every time (OOM killer, a crash in a C extension)."""
    with (Path(folder) / f"{tag}.runs").open("a") as runs:
        runs.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)


# --- Helpers -----------------------------------------------------------------------------------------------------


def _runs(folder: Path, tag: str) -> list[str]:
    path = folder / f"{tag}.runs"
    return path.read_text().split() if path.exists() else []


def _leftover_messages(data: Path) -> list[Path]:
    """Messages still on the queue or held for a worker."""
    broker = data / "broker"
    return list((broker / "queue").glob("*.msg")) + [
        path for path in (broker / "unacked").glob("*/*") if path.is_file()
    ]


class EmbeddedFactory:
    """A data folder with its embedded broker, its workers (each killed at the end) and a sender."""

    def __init__(self, data: Path):
        self.data = data
        url, transport, options = embedded.broker_settings(data, max_deliveries=MAX_DELIVERIES)
        self.sender = Celery("embedded-broker-test", set_as_current=False)
        self.sender.conf.update(broker_url=url, broker_transport=transport, broker_transport_options=options)
        self.workers: list[subprocess.Popen] = []

    def send(self, task, *args):
        self.sender.send_task(task.name, args=args)

    def start_worker(self, *, until_ready: bool = True) -> subprocess.Popen:
        env = {
            **os.environ,
            "DEBUG": "true",
            "FACTORY_DATA_DIR": str(self.data),
            "CELERY_BROKER_URL": "",  # the embedded broker, as bin/run has it
            "CELERY_TASK_MAX_DELIVERIES": str(MAX_DELIVERIES),
            # Set, it keeps the embedded Postgres from starting; these tasks use no database (a run's heartbeat
            # that cannot be written is only logged).
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        }
        process = start_worker(
            name="embedded",
            env=env,
            log=self.data / f"worker-{len(self.workers) + 1}.log",
            options=["--concurrency=2", "--include=tests.foundation.test_embedded_broker"],
            until_ready=until_ready,
        )
        self.workers.append(process)
        return process

    def output(self) -> str:
        return "".join(log.read_text(errors="replace") for log in sorted(self.data.glob("worker-*.log")))

    def close(self) -> None:
        for worker in self.workers:
            kill_group(worker)


@pytest.fixture
def embedded_factory(tmp_path):
    factory = EmbeddedFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()
        print(factory.output())  # shown by pytest when the test failed


# --- Real workers ---------------------------------------------------------------------------------------------


@pytest.mark.worker
def test_the_task_of_a_worker_killed_mid_task_runs_again_on_the_restarted_worker_once(embedded_factory):
    data = embedded_factory.data
    first = embedded_factory.start_worker()
    embedded_factory.send(hold, str(data), "long")
    wait_for(lambda: _runs(data, "long"), "the task to start")

    kill_group(first)
    second = embedded_factory.start_worker()

    wait_for(lambda: len(_runs(data, "long")) == 2, "the task to run again on the restarted worker")
    (data / "long.release").touch()
    wait_for(lambda: (data / "long.done").exists(), "the task to finish")
    assert _runs(data, "long") == [str(first.pid), str(second.pid)]
    assert (data / "long.done").read_text() == str(second.pid)
    wait_for(lambda: not _leftover_messages(data), "the finished task's message to be settled", timeout=10)


@pytest.mark.worker
def test_a_worker_killed_while_idle_comes_back_and_takes_new_work(embedded_factory):
    data = embedded_factory.data
    kill_group(embedded_factory.start_worker())
    embedded_factory.start_worker()
    (data / "short.release").touch()

    embedded_factory.send(hold, str(data), "short")

    wait_for(lambda: (data / "short.done").exists(), "the task to finish")
    assert len(_runs(data, "short")) == 1
    wait_for(lambda: not _leftover_messages(data), "the finished task's message to be settled", timeout=10)


@pytest.mark.worker
def test_a_task_that_kills_every_worker_it_lands_on_is_dropped_after_the_delivery_limit(embedded_factory):
    data = embedded_factory.data
    embedded_factory.send(kill_own_worker, str(data), "poison")
    for delivery in range(1, MAX_DELIVERIES + 1):
        worker = embedded_factory.start_worker(until_ready=False)  # it may die as soon as it is ready
        wait_for(lambda: not alive(worker.pid), f"delivery {delivery} to kill its worker")  # noqa: B023
        worker.wait(timeout=30)
        assert len(_runs(data, "poison")) == delivery

    # The next worker takes the message out of circulation and goes on with other work.
    embedded_factory.start_worker()
    (data / "after.release").touch()
    embedded_factory.send(hold, str(data), "after")
    wait_for(lambda: (data / "after.done").exists(), "the next task to run")

    assert len(_runs(data, "poison")) == MAX_DELIVERIES
    assert len(list((data / "broker" / "dead").iterdir())) == 1
    assert "its worker died in each of its 3 deliveries" in embedded_factory.output()


# --- The transport ------------------------------------------------------------------------------------------------


def _queue_name() -> str:
    # kombu keeps the exchanges a process declared in memory, whatever the folder: one name per test.
    return f"work-{uuid.uuid4().hex[:8]}"


def _connection(data: Path) -> Connection:
    url, transport, options = embedded.broker_settings(data, max_deliveries=MAX_DELIVERIES)
    return Connection(url, transport=transport, transport_options=options)


def _take_and_die(data: Path, queue: str) -> None:
    """A process that takes a message from `queue` without acknowledging it, and dies."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from devrun import embedded\n"
        "from kombu import Connection\n"
        f"url, transport, options = embedded.broker_settings(Path({str(data)!r}), max_deliveries=3)\n"
        "with Connection(url, transport=transport, transport_options=options) as connection:\n"
        f"    message = connection.SimpleQueue({queue!r}).get(timeout=10)\n"
        "    os._exit(0 if message else 1)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, check=True, timeout=60)


def test_a_message_taken_by_a_process_that_died_goes_back_on_the_queue(tmp_path):
    queue_name = _queue_name()
    with _connection(tmp_path) as connection:
        connection.SimpleQueue(queue_name).put({"job": 1})
    _take_and_die(tmp_path, queue_name)

    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue(queue_name)
        message = queue.get(timeout=5)
        assert message.payload == {"job": 1}
        message.ack()
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.2)

    assert not _leftover_messages(tmp_path)


def test_a_message_of_a_live_process_stays_with_it_until_acknowledged(tmp_path):
    queue_name = _queue_name()
    with _connection(tmp_path) as holder, _connection(tmp_path) as other:
        holder.SimpleQueue(queue_name).put({"job": 1})
        message = holder.SimpleQueue(queue_name).get(timeout=5)

        with pytest.raises(other.SimpleQueue(queue_name).Empty):
            other.SimpleQueue(queue_name).get(timeout=0.2)
        assert len(_leftover_messages(tmp_path)) == 1

        message.ack()
        assert not _leftover_messages(tmp_path)


def test_a_message_read_without_acknowledgement_is_settled_at_once(tmp_path):
    # The health check's probe and Celery's control messages are consumed this way.
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue(_queue_name(), no_ack=True)
        queue.put({"probe": "healthz"})
        assert queue.get(timeout=5).payload == {"probe": "healthz"}

    assert not _leftover_messages(tmp_path)


def test_a_message_whose_every_reader_died_is_moved_aside_after_the_delivery_limit(tmp_path, caplog):
    queue_name = _queue_name()
    with _connection(tmp_path) as connection:
        connection.SimpleQueue(queue_name).put({"job": "poison"})
    for _ in range(MAX_DELIVERIES):
        _take_and_die(tmp_path, queue_name)

    with _connection(tmp_path) as connection, pytest.raises(connection.SimpleQueue(queue_name).Empty):
        connection.SimpleQueue(queue_name).get(timeout=0.2)

    assert len(list((tmp_path / "broker" / "dead").iterdir())) == 1
    assert f"its worker died in each of its {MAX_DELIVERIES} deliveries" in caplog.text


def test_the_embedded_broker_is_the_one_the_settings_give_celery_without_a_broker_url():
    if django_settings.CELERY_BROKER_URL != "filesystem://":
        pytest.skip("this run names a CELERY_BROKER_URL")
    assert celery_app.conf.broker_transport == "devrun.broker:Transport"
