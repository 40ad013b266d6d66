"""The dispatch center drives a real Slurm cluster (tests/slurm/cluster.py): a site whose executor is Slurm runs its
jobs as batch jobs in its pools' partitions, reads their progress and completion back, sees other tenants' jobs as
background load, and loses nothing when the cluster does not answer."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest

from dispatch import services
from dispatch.executors.slurm import MARK
from dispatch.models import ComputePool, ComputeSite, Connection, Executor, Job, JobState, Preemption
from factory import clock
from orders.models import OrderStatus, StepStatus
from tests.factories import order_at
from tests.processes import wait_for

pytestmark = pytest.mark.django_db

# One factory hour is a hundredth of a real second: a data workshop's steps take the cluster a fraction of one each.
SPEED = 360_000
LARGE_DATASET = {"size": "large", "product_type": "dataset"}
# A factory hour is a tenth of a real second: a large order's first step runs for a few seconds.
STEADY = 36_000


@pytest.fixture
def cluster_site(slurm_cluster, settings):
    settings.DISPATCH_BACKGROUND_LOAD = False
    settings.FACTORY_CLOCK_SPEED = SPEED
    settings.SLURM_CLUSTERS = {
        "test": {
            "url": slurm_cluster.url,
            "user": "root",
            "token": slurm_cluster.token(),
            "workdir": str(slurm_cluster.root / "work"),
            "slurm_conf": str(slurm_cluster.conf),  # the factory administers this cluster
        }
    }
    site = ComputeSite.objects.create(
        name="Xinghe cluster",
        city="Xinghe",
        in_province=True,
        monitored_pflops=320,
        executor=Executor.SLURM,
        cluster="test",
    )
    # 16 CPUs of 10 PFLOPS each: 160 PFLOPS, of which the factory may dispatch 120.
    for kind, partition in (("data_processing", "data"), ("training", "train")):
        ComputePool.objects.create(
            site=site,
            name=f"xinghe-{partition}",
            partition=partition,
            pflops_per_unit=Decimal(10),
            kind=kind,
            trusted=True,
            capacity_pflops=Decimal(120),
            price_per_pflops_hour=Decimal("30.00"),
        )
    yield site
    for partition in ("data", "train"):
        slurm_cluster.scontrol("update", f"PartitionName={partition}", "State=UP")
    client = slurm_cluster.client()
    for job in client.jobs():
        if job.pending or job.running:
            client.cancel(job.job_id)
    wait_for(lambda: not any(job.pending or job.running for job in client.jobs()), "the cluster to be idle")


class FactoryTime:
    """The factory clock at `speed` times the real one (as settings.FACTORY_CLOCK_SPEED), from the test's start."""

    def __init__(self, speed=SPEED):
        self.origin, self.real, self.speed = clock.now(), time.monotonic(), speed

    def now(self):
        return self.origin + timedelta(seconds=(time.monotonic() - self.real) * self.speed)


def _runs_of(client, job) -> list:
    """Every Slurm run of one of our jobs, oldest first."""
    return sorted((run for run in client.jobs() if run.comment == f"{MARK}{job.pk}"), key=lambda run: run.job_id)


def _tick_until(factory_time, done, what, *, timeout=120):
    def ticked():
        services.dispatch_tick(now=factory_time.now())
        return done()

    return wait_for(ticked, what, timeout=timeout, interval=0.2)


def test_an_orders_steps_run_as_slurm_jobs_and_the_order_reaches_its_gate(cluster_site, slurm_cluster, ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    factory_time = FactoryTime()
    client = slurm_cluster.client()
    seen = set()

    def tick_until_awaiting_review():
        services.dispatch_tick(now=factory_time.now())
        seen.update(job.job_id for job in client.jobs() if job.comment.startswith(MARK))
        order.refresh_from_db()
        return order.status == OrderStatus.AWAITING_REVIEW

    wait_for(
        tick_until_awaiting_review, "the order's data workshop to finish on the cluster", timeout=180, interval=0.5
    )

    jobs = list(Job.objects.filter(order=order))
    assert jobs
    assert all(job.state == JobState.DONE and job.done_pflops_hours == job.work_pflops_hours for job in jobs)
    assert {job.cluster_job_id for job in jobs} <= seen  # each ran as the Slurm job recorded
    assert len(seen) == len(jobs)  # once each: nothing started twice
    ran = {slurm_job.job_id: slurm_job for slurm_job in client.jobs()}
    assert all(
        ran[job.cluster_job_id].finished and ran[job.cluster_job_id].comment == f"{MARK}{job.pk}" for job in jobs
    )
    assert all(ran[job.cluster_job_id].partition == "data" for job in jobs)
    assert not order.stages.get(workshop="data").steps.exclude(status=StepStatus.DONE).exists()
    site = ComputeSite.objects.get(pk=cluster_site.pk)
    assert site.connection == Connection.UP


def test_another_tenants_jobs_are_background_load_and_shrink_the_room(cluster_site, slurm_cluster, ops_user):
    theirs = slurm_cluster.client(user="nobody")
    their_job = theirs.submit(
        name="their-training",
        comment="",
        partition="data",
        cpus=10,
        minutes=5,
        script="#!/bin/sh\nsleep 60\n",
        workdir=str(slurm_cluster.root / "work"),
    )
    wait_for(lambda: theirs.job(their_job).running, "their job to run")

    services.dispatch_tick(now=clock.now())

    pool = ComputePool.objects.get(partition="data")
    assert pool.background_pflops == Decimal(100)  # 10 CPUs of 10 PFLOPS
    assert pool.free_pflops == Decimal(20)


def test_a_cluster_that_does_not_answer_moves_nothing_and_loses_nothing(cluster_site, slurm_cluster, ops_user, client):
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    factory_time = FactoryTime()
    services.dispatch_tick(now=factory_time.now())
    job = Job.objects.get()
    assert job.state == JobState.RUNNING
    assert job.cluster_job_id is not None

    run_id, done = job.cluster_job_id, job.done_pflops_hours
    slurm_cluster.kill("slurmrestd")
    try:
        services.dispatch_tick(now=factory_time.now() + timedelta(hours=1))
        job.refresh_from_db()
        site = ComputeSite.objects.get(pk=cluster_site.pk)
        assert (job.state, site.connection) == (JobState.RUNNING, Connection.DOWN)
        assert (job.cluster_job_id, job.done_pflops_hours) == (run_id, done)  # nothing known, nothing counted
        assert site.connection_error
        health = client.get("/healthz").json()
        assert health["clusters"]["test"]["state"] == "unavailable"
        assert health["status"] != "ok"
    finally:
        slurm_cluster.start_rest()

    services.dispatch_tick(now=factory_time.now() + timedelta(hours=2))
    job.refresh_from_db()
    assert job.state in (JobState.RUNNING, JobState.DONE)
    assert [run.job_id for run in _runs_of(slurm_cluster.client(), job)] == [run_id]  # the same run, once
    assert ComputeSite.objects.get(pk=cluster_site.pk).connection == Connection.UP
    assert client.get("/healthz").json()["clusters"]["test"]["state"] == "ok"


def test_urgent_work_preempts_a_running_slurm_job_which_finishes_later(cluster_site, slurm_cluster, ops_user, settings):
    settings.FACTORY_CLOCK_SPEED = STEADY  # the first step runs for seconds: time for the urgent order to come
    factory_time = FactoryTime(speed=STEADY)
    low = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority="low", size="large", product_type="dataset")
    first = Job.objects.none()
    services.dispatch_tick(now=factory_time.now())
    first = Job.objects.get(order=low)
    ComputePool.objects.filter(partition="data").update(capacity_pflops=first.demand_pflops)
    client = slurm_cluster.client()
    wait_for(lambda: (runs := _runs_of(client, first)) and runs[0].running, "the low job to run on the cluster")
    urgent = order_at(
        OrderStatus.IN_PRODUCTION,
        staff=ops_user,
        actor=ops_user,
        priority="urgent",
        size="large",
        product_type="dataset",
    )

    _tick_until(factory_time, lambda: Preemption.objects.exists(), "the urgent job to preempt the low one")

    first.refresh_from_db()
    assert (first.state, first.cluster_job_id) == (JobState.PREEMPTED, None)
    assert first.done_pflops_hours > 0  # its progress kept
    preempted_run = _runs_of(client, first)[0]
    wait_for(lambda: client.job(preempted_run.job_id).state == "CANCELLED", "the preempted run to be cancelled")
    assert Job.objects.get(order=urgent).state in (JobState.RUNNING, JobState.DONE)

    _tick_until(factory_time, lambda: Job.objects.get(pk=first.pk).state == JobState.DONE, "the low job to finish")

    runs = _runs_of(client, first)
    assert [run.state for run in runs] == ["CANCELLED", "COMPLETED"]
    first.refresh_from_db()
    assert first.cluster_job_id == runs[1].job_id


def test_a_node_lost_mid_job_requeues_it_and_it_completes_after_the_node_returns(
    cluster_site, slurm_cluster, ops_user, settings
):
    settings.FACTORY_CLOCK_SPEED = 3600
    factory_time = FactoryTime(speed=3600)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, size="large", product_type="dataset")
    services.dispatch_tick(now=factory_time.now())
    job = Job.objects.get()
    client = slurm_cluster.client()
    wait_for(lambda: (runs := _runs_of(client, job)) and runs[0].running, "the job to run on the cluster")

    slurm_cluster.crash_node()
    try:
        _tick_until(factory_time, lambda: Job.objects.get(pk=job.pk).attempts == 1, "the lost run to be noticed")
        job.refresh_from_db()
        assert job.state == JobState.PREEMPTED  # back in the queue, with its progress: the node is down
        assert job.done_pflops_hours > 0
        assert job.cluster_job_id is None
    finally:
        slurm_cluster.start_node()

    _tick_until(factory_time, lambda: Job.objects.get(pk=job.pk).state == JobState.DONE, "the job to finish")

    runs = _runs_of(client, job)
    assert runs[-1].state == "COMPLETED"
    assert sum(1 for run in runs if run.state == "COMPLETED") == 1


def test_a_controller_restart_loses_nothing_and_runs_nothing_twice(cluster_site, slurm_cluster, ops_user, settings):
    settings.FACTORY_CLOCK_SPEED = STEADY
    factory_time = FactoryTime(speed=STEADY)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, size="large", product_type="dataset")
    services.dispatch_tick(now=factory_time.now())
    job = Job.objects.get()
    client = slurm_cluster.client()
    wait_for(lambda: (runs := _runs_of(client, job)) and runs[0].running, "the job to run on the cluster")

    slurm_cluster.kill("slurmctld")
    try:
        for _ in range(3):
            services.dispatch_tick(now=factory_time.now())
            time.sleep(0.3)
        job.refresh_from_db()
        assert job.state == JobState.RUNNING  # nothing known, nothing moved
        assert ComputeSite.objects.get(pk=cluster_site.pk).connection == Connection.DOWN
    finally:
        slurm_cluster.start_controller()

    _tick_until(factory_time, lambda: Job.objects.get(pk=job.pk).state == JobState.DONE, "the job to finish")

    job.refresh_from_db()
    assert job.attempts == 0
    assert [run.state for run in _runs_of(client, job)] == ["COMPLETED"]


def _partition_state(client, name):
    return next(partition.state for partition in client.partitions() if partition.name == name)


def test_a_drain_and_an_offline_reach_the_partition_and_activate_brings_it_up(
    cluster_site, slurm_cluster, ops_user, dispatcher
):
    factory_time = FactoryTime()
    client = slurm_cluster.client()
    pool = ComputePool.objects.get(partition="data")

    changes = [("drain", "DRAIN"), ("activate", "UP"), ("offline", "DOWN"), ("activate", "UP")]
    for action, partition_state in changes:
        services.pool_change_state(pool=pool, action=action, actor=dispatcher, reason="Cooling loop service")
        services.dispatch_tick(now=factory_time.now())

        assert _partition_state(client, "data") == partition_state, action
    assert _partition_state(client, "train") == "UP"


def test_an_offline_pool_cancels_its_runs_on_the_cluster_and_keeps_their_progress(
    cluster_site, slurm_cluster, ops_user, dispatcher, settings
):
    settings.FACTORY_CLOCK_SPEED = STEADY
    factory_time = FactoryTime(speed=STEADY)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, **LARGE_DATASET)
    services.dispatch_tick(now=factory_time.now())
    job = Job.objects.get()
    client = slurm_cluster.client()
    wait_for(lambda: (runs := _runs_of(client, job)) and runs[0].running, "the job to run on the cluster")
    services.dispatch_tick(now=factory_time.now())

    services.pool_change_state(pool=job.pool, action="offline", actor=dispatcher, reason="Power work in hall B")
    services.dispatch_tick(now=factory_time.now())

    job.refresh_from_db()
    assert (job.state, job.cluster_job_id) == (JobState.PREEMPTED, None)
    assert job.done_pflops_hours > 0
    (run,) = _runs_of(client, job)
    wait_for(lambda: client.job(run.job_id).state == "CANCELLED", "its run to be cancelled")
    assert _partition_state(client, "data") == "DOWN"
