"""A Celery worker killed in the middle of a dispatch tick loses no job and no progress.

Real `celery worker` processes (prefork, one child) run against the configured Redis broker and pytest's test
database. The test holds the DispatchState row lock from a connection of its own, so the worker's tick stops
inside its transaction; the worker is killed there (its child, or the whole worker), the lock is released,
and the redelivered message must complete the tick with every running job's progress counted exactly once.
A task that kills every worker it lands on must stop after task_max_deliveries deliveries.

The tests need Redis (visibility timeout, unacknowledged messages): with another broker they skip, except
under CI (CI=true), where that fails. Each test consumes a queue of its own, so no other worker on the same
broker takes its messages.
"""

import ast
import json
import os
import re
import signal
import uuid
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.db import connection
from django.utils import timezone

from dispatch import services
from dispatch.models import DispatchState, Job, JobState
from dispatch.tasks import dispatch_tick
from factory.celery import app as celery_app
from factory.tasks import deliveries_key
from orders.models import OrderStatus
from tests.factories import compute_pool, order_at
from tests.processes import (
    WAIT,
    alive,
    children,
    database_connection,
    database_url,
    kill_group,
    start_worker,
    wait_for,
)

BASE_DIR = Path(__file__).resolve().parents[2]
# The whole-worker case waits for this before Redis hands the unacknowledged message to another worker.
SHORT_VISIBILITY = 5
# Factory time runs this many times faster than real time in these tests (factory_clock).
CLOCK_SPEED = 600
# With room to spare and no background load a tick only moves a job forward (finishes it), never back.
STATE_ORDER = [JobState.QUEUED, JobState.PREEMPTED, JobState.RUNNING, JobState.DONE]


# --- Tasks the test workers import (--include this module) ----------------------------------------------------


def _broker() -> redis.Redis:
    return redis.Redis.from_url(celery_app.conf.broker_url.split(";")[0])


@celery_app.task(name="tests.worker_faults.kill_own_worker", ignore_result=True)
def kill_own_worker(runs_key):
    """Stands for a task that takes its worker down every time (OOM killer, a crash in a C extension)."""
    _broker().incr(runs_key)
    os.kill(os.getpid(), signal.SIGKILL)


@celery_app.task(name="tests.worker_faults.record", ignore_result=True)
def record(key):
    _broker().set(key, "done", ex=600)


# --- Helpers -----------------------------------------------------------------------------------------------------


class Worker:
    """`celery -A factory worker --pool=prefork --concurrency=1` in its own process group, logging to a file."""

    def __init__(self, queue: str, log: Path, **env):
        self.queue, self.log = queue, log
        self.env = {
            **os.environ,
            "DEBUG": "true",
            "CONN_MAX_AGE": "0",
            "DATABASE_URL": database_url(application_name=queue),
            "CELERY_BROKER_URL": celery_app.conf.broker_url,
            **env,
        }
        self.process = None

    def start(self):
        self.process = start_worker(
            name="faults",
            env=self.env,
            log=self.log,
            options=[
                "--pool=prefork",
                "--concurrency=1",
                f"--queues={self.queue}",
                "--include=tests.foundation.test_worker_faults",
            ],
        )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def child(self) -> int:
        found = wait_for(lambda: children(self.pid), "the worker's pool child")
        assert len(found) == 1, f"expected one pool child, found {found}"
        return found[0]

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self):
        """SIGKILL every process of the worker (the main process and its children share its process group)."""
        if self.process is not None:
            kill_group(self.process)


@pytest.fixture
def redis_broker():
    url = celery_app.conf.broker_url
    if urlsplit(url.split(";")[0]).scheme not in ("redis", "rediss"):
        message = f"worker fault tests need a Redis broker (CELERY_BROKER_URL=redis://…), not {url.split(':')[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    client = _broker()
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis broker at {url} does not answer: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return client


@pytest.fixture
def factory_clock(settings):
    """A factory clock 600 times faster than real time, in this process and in the workers.

    A second of real time is then ten factory minutes, 0.33 PFLOPS-h for a 2 PFLOPS job: a tick counted twice
    or not at all is plain to see, and a job of an order in production still runs for minutes.
    """
    anchor = timezone.now().isoformat()
    settings.FACTORY_CLOCK_SPEED = CLOCK_SPEED
    settings.FACTORY_CLOCK_ANCHOR = settings.FACTORY_CLOCK_ORIGIN = anchor
    settings.DISPATCH_BACKGROUND_LOAD = False
    return {
        "FACTORY_CLOCK_SPEED": str(CLOCK_SPEED),
        "FACTORY_CLOCK_ANCHOR": anchor,
        "FACTORY_CLOCK_ORIGIN": anchor,
        "DISPATCH_BACKGROUND_LOAD": "false",
    }


@pytest.fixture
def workers(request, tmp_path, redis_broker, factory_clock):
    """start(**env) starts a worker on this test's queue; every worker is killed at the end, whatever happened.

    The queue's name also names the workers' database sessions (application_name).
    """
    queue = f"worker-faults-{uuid.uuid4().hex}"
    started: list[Worker] = []

    def start(**env) -> Worker:
        worker = Worker(queue, tmp_path / f"worker-{len(started) + 1}.log", **factory_clock, **env)
        started.append(worker)
        return worker.start()

    start.queue = queue
    try:
        yield start
    finally:
        for worker in started:
            worker.kill()
            # Shown by pytest when the test failed.
            print(f"--- {worker.log.name}\n{worker.output()}")
        # The queue, and the exchange bindings kombu keeps for it.
        redis_broker.delete(queue, *redis_broker.scan_iter(match=f"_kombu.binding*{queue}"))
        if request.node.get_closest_marker("django_db"):
            # The test database is flushed, and at the end dropped: no session of a killed worker may linger.
            wait_for(lambda: not _worker_sessions(queue), "the killed workers' sessions to end", timeout=30)


@contextmanager
def dispatch_state_locked():
    """Hold DispatchState's row lock from a connection of the test's own, as a slow transaction would."""
    holder = database_connection()
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT id FROM dispatch_dispatchstate WHERE id = 1 FOR UPDATE")
            assert cursor.fetchone(), "no DispatchState row to lock"
        yield holder
    finally:
        holder.rollback()
        holder.close()


def _worker_sessions(queue: str, waiting_for_lock: bool = False) -> list[int]:
    """Database sessions of this test's workers (all, or those waiting for a lock)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
            " AND (NOT %s OR (wait_event_type = 'Lock' AND query ILIKE '%%dispatch_dispatchstate%%FOR UPDATE%%'))",
            [queue, waiting_for_lock],
        )
        return [row[0] for row in cursor.fetchall()]


def _backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is None


def _unacked_task_ids(client: redis.Redis) -> set[str]:
    """Task ids of the messages Redis holds for workers that have not acknowledged them."""
    return {json.loads(raw)[0]["headers"]["id"] for raw in client.hvals("unacked")}


def _held_by_redis(client: redis.Redis, queue: str, task_id: str) -> bool:
    """Not lost: waiting for an acknowledgement, or back on the queue (any worker on the broker may restore it)."""
    queued = {json.loads(raw)["headers"]["id"] for raw in client.lrange(queue, 0, -1)}
    return task_id in _unacked_task_ids(client) | queued


def _factory_in_production(ops_user):
    """Pools and orders with running jobs, brought up to date by one tick."""
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=Decimal("400"))
    for _ in range(2):
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, size="large")
    services.dispatch_tick()
    assert Job.objects.filter(state=JobState.RUNNING).exists()


def _snapshot():
    state = DispatchState.objects.get()
    jobs = {job.pk: job for job in Job.objects.all()}
    return state, jobs


def _round(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def assert_progress_counted_once(before):
    """Exactly one tick committed since `before`, and it advanced every running job by demand x elapsed time."""
    state_before, jobs_before = before
    state = DispatchState.objects.get()
    assert state.ticks == state_before.ticks + 1, "the killed tick committed, or the redelivered one did not"
    elapsed = state.last_tick_at - state_before.last_tick_at
    assert elapsed.total_seconds() > 0
    # The tick's own arithmetic (dispatch.services._ADVANCE_SQL) over the elapsed factory time it recorded.
    hours = Decimal(elapsed.total_seconds()) / Decimal(3600)
    jobs = {job.pk: job for job in Job.objects.all()}
    assert set(jobs_before) <= set(jobs), "a job disappeared"
    running = [pk for pk, old in jobs_before.items() if old.state == JobState.RUNNING]
    # The check can tell once from twice or never only if a job moved visibly and is not at its end.
    assert any(
        jobs_before[pk].done_pflops_hours < jobs[pk].done_pflops_hours < jobs[pk].work_pflops_hours / 2
        for pk in running
    )
    for pk, old in jobs_before.items():
        job = jobs[pk]
        assert STATE_ORDER.index(job.state) >= STATE_ORDER.index(old.state), f"job {pk} went back: {old.state}"
        if old.state != JobState.RUNNING:
            continue
        done = min(old.work_pflops_hours, old.done_pflops_hours + _round(old.demand_pflops * hours, "0.001"))
        assert job.done_pflops_hours == done, f"job {pk}: not demand x {elapsed} counted once"
        charged = _round((done - old.done_pflops_hours) * old.pool.price_per_pflops_hour, "0.01")
        assert job.cost == old.cost + charged, f"job {pk}: charged other than once"


def _send_tick(queue):
    """Send a tick to the test's worker and wait until it is stuck inside its transaction; its session's pid."""
    task_id = dispatch_tick.apply_async(queue=queue).id
    sessions = wait_for(
        lambda: _worker_sessions(queue, waiting_for_lock=True), "the worker's tick to wait for the DispatchState row"
    )
    return task_id, sessions[0]


# --- Tests -------------------------------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_tick_whose_worker_child_is_killed_is_redelivered_and_counts_progress_once(workers, ops_user):
    _factory_in_production(ops_user)
    worker = workers()
    before = _snapshot()
    broker = _broker()

    with dispatch_state_locked():
        task_id, backend = _send_tick(workers.queue)
        child = worker.child()
        assert broker.get(deliveries_key(task_id)) == b"1"
        # Freeze the worker's main process until Postgres has rolled the dead child's transaction back:
        # otherwise the redelivered tick may start while that session still holds the tick's advisory lock,
        # and skip (beat's next tick would then do the work; this test wants the redelivered one to).
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            os.kill(child, signal.SIGKILL)
            wait_for(lambda: not alive(child), "the child to die")
        except BaseException:
            os.kill(worker.pid, signal.SIGCONT)
            raise
    try:
        wait_for(lambda: _backend_gone(backend), "Postgres to end the killed child's session")
        assert DispatchState.objects.get().ticks == before[0].ticks, "the killed tick's transaction committed"
    finally:
        os.kill(worker.pid, signal.SIGCONT)

    wait_for(lambda: f"dispatch_tick[{task_id}] succeeded" in worker.output(), "the redelivered tick to succeed")
    assert worker.process.poll() is None, "the worker's main process died"
    assert child not in children(worker.pid), "the killed child is still there"
    assert_progress_counted_once(before)
    # Acknowledged: nothing left for Redis to redeliver, and no delivery count left behind.
    assert task_id not in _unacked_task_ids(broker)
    assert broker.llen(workers.queue) == 0
    assert not broker.exists(deliveries_key(task_id))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_tick_whose_whole_worker_is_killed_comes_back_after_the_visibility_timeout(workers, ops_user):
    _factory_in_production(ops_user)
    short = {"CELERY_VISIBILITY_TIMEOUT": str(SHORT_VISIBILITY)}
    worker = workers(**short)
    before = _snapshot()
    broker = _broker()

    with dispatch_state_locked():
        task_id, backend = _send_tick(workers.queue)
        child = worker.child()
        os.kill(worker.pid, signal.SIGKILL)  # the OOM killer picking the main process
        worker.process.wait(timeout=WAIT)
        # Celery has the kernel kill a pool child with its parent (PR_SET_PDEATHSIG): the whole worker is gone.
        wait_for(lambda: not alive(child), "the child to die with its parent")
        assert _held_by_redis(broker, workers.queue, task_id), "Redis dropped the message of the dead worker"

    wait_for(lambda: _backend_gone(backend), "Postgres to end the killed child's session")
    assert DispatchState.objects.get().ticks == before[0].ticks, "the killed tick's transaction committed"
    assert _held_by_redis(broker, workers.queue, task_id)

    replacement = workers(**short)
    wait_for(
        lambda: f"dispatch_tick[{task_id}] succeeded" in replacement.output(),
        "Redis to hand the message to the new worker and its tick to succeed",
    )
    assert_progress_counted_once(before)
    assert task_id not in _unacked_task_ids(broker)
    assert broker.llen(workers.queue) == 0
    assert not broker.exists(deliveries_key(task_id))


@pytest.mark.worker
def test_a_task_that_always_kills_its_worker_is_dropped_after_the_delivery_limit(workers):
    limit = celery_app.conf.task_max_deliveries
    worker = workers()
    broker = _broker()
    runs, done = (f"worker-faults:{what}:{uuid.uuid4().hex}" for what in ("runs", "done"))

    try:
        task_id = kill_own_worker.apply_async(args=[runs], queue=workers.queue).id
        wait_for(lambda: f"kill_own_worker[{task_id}] dropped" in worker.output(), "the message to be dropped")

        assert int(broker.get(runs)) == limit
        assert worker.output().count("exited with 'signal 9 (SIGKILL)'") == limit
        assert re.search(rf"ERROR/ForkPoolWorker-\d+\] Task \S+kill_own_worker\[{task_id}\] dropped", worker.output())
        # Gone for good: not queued, not waiting to be redelivered, no count left behind.
        assert broker.llen(workers.queue) == 0
        assert task_id not in _unacked_task_ids(broker)
        assert not broker.exists(deliveries_key(task_id))
        # The worker stays up and keeps working.
        assert worker.process.poll() is None
        record.apply_async(args=[done], queue=workers.queue)
        wait_for(lambda: broker.get(done) == b"done", "the worker to run the next task")
        assert int(broker.get(runs)) == limit
    finally:
        broker.delete(runs, done)


def test_redis_hands_a_message_back_only_after_any_task_must_have_ended():
    """The visibility timeout exceeds every task's hard time limit, or a slow task would run twice at once."""
    from factory import settings as project_settings

    celery_app.loader.import_default_modules()
    limits = {
        name: task.time_limit or celery_app.conf.task_time_limit
        for name, task in celery_app.tasks.items()
        if not name.startswith(("celery.", "tests."))
    }
    assert max(limits.values()) <= project_settings._LONGEST_TASK_SECONDS, limits
    options = celery_app.conf.broker_transport_options
    if "visibility_timeout" in options and "CELERY_VISIBILITY_TIMEOUT" not in os.environ:
        assert options["visibility_timeout"] > max(limits.values())
        assert options["unacked_restore_throttle"] * options["unacked_restore_interval"] <= 10


def _sends_outside_on_commit(source: str) -> list[int]:
    """Lines that put a task on the queue (delay, apply_async, send_task) not deferred by transaction.on_commit."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def called(node) -> str:
        func = node.func
        return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")

    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    # Functions handed to on_commit by name send their tasks after the commit too.
    deferred = {
        arg.id for call in calls if called(call) == "on_commit" for arg in call.args if isinstance(arg, ast.Name)
    }
    found = []
    for call in calls:
        if called(call) not in ("delay", "apply_async", "send_task"):
            continue
        node = call
        while node in parents:
            node = parents[node]
            if (isinstance(node, ast.Call) and called(node) == "on_commit") or (
                isinstance(node, ast.FunctionDef) and node.name in deferred
            ):
                break
        else:
            found.append(call.lineno)
    return found


def test_the_check_for_tasks_sent_inside_a_transaction_tells_them_apart():
    source = """
def place(order):
    order.save()
    notify.delay(order.pk)  # line 4: sent even if the request then fails
    transaction.on_commit(lambda: notify.delay(order.pk))
    transaction.on_commit(partial(notify.apply_async, args=[order.pk]))

    def send():
        app.send_task("notify", args=[order.pk])

    transaction.on_commit(send)
    app.send_task("notify")  # line 12
"""
    assert _sends_outside_on_commit(source) == [4, 12]


def test_no_code_enqueues_a_task_that_a_rolled_back_request_would_leave_behind():
    """A request that fails after writing enqueues no task: every send waits for transaction.on_commit.

    Today no request sends a task at all (the periodic tasks come from beat); this keeps it so when one does.
    """
    skipped = {"tests", "migrations", "node_modules", "staticfiles", "test-artifacts"}
    sources = []
    for folder, subfolders, files in os.walk(BASE_DIR):
        subfolders[:] = [name for name in subfolders if name not in skipped and not name.startswith(".")]
        sources += [Path(folder) / name for name in files if name.endswith(".py")]
    assert len(sources) > 50
    offenders = [
        f"{path.relative_to(BASE_DIR)}:{line}"
        for path in sources
        for line in _sends_outside_on_commit(path.read_text())
    ]
    assert offenders == [], "send these tasks from transaction.on_commit(...) so a rollback sends nothing"
