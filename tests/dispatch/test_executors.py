"""Sites that run on a Slurm cluster, without one: the tick reads a cluster through dispatch.executors.slurm, which
these tests stand in for, so that what it does with each reading is checked quickly (tests/slurm runs a real one)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site as admin_site

from dispatch import forecast, services
from dispatch.admin import ComputeSiteForm
from dispatch.errors import PoolActionNotPermitted
from dispatch.executors import slurm
from dispatch.executors.slurm_rest import SlurmJob
from dispatch.models import ComputePool, ComputeSite, Connection, Executor, Job, JobState
from dispatch.notices import JOB_RUNS_LOST
from factory import clock
from notifications.models import Notice
from orders.models import OrderStatus
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False
    settings.SLURM_CLUSTERS = {"xinghe": {"url": "http://127.0.0.1:9", "user": "factory", "token": "secret-token"}}
    settings.SLURM_JOB_ATTEMPTS = 2


@pytest.fixture
def pool():
    site = ComputeSite.objects.create(
        name="Xinghe", city="Xinghe", in_province=True, monitored_pflops=1000, executor=Executor.SLURM, cluster="xinghe"
    )
    return ComputePool.objects.create(
        site=site,
        name="xinghe-data",
        partition="data",
        pflops_per_unit=Decimal(10),
        kind="data_processing",
        trusted=True,
        capacity_pflops=Decimal(500),
        price_per_pflops_hour=Decimal("30.00"),
    )


class FakeCluster:
    """What the tick reads of the cluster and what it tells it, kept in lists."""

    def __init__(self, monkeypatch, pool):
        self.pool, self.runs, self.started, self.cancelled, self.next_id = pool, {}, [], [], 100
        monkeypatch.setattr(slurm, "read_site", self.read_site)
        monkeypatch.setattr(slurm, "start", self.start)
        monkeypatch.setattr(slurm, "cancel", lambda site, run_id: self.cancelled.append(run_id))

    def read_site(self, site, pools):
        reading = slurm.PoolReading(capacity_pflops=1600.0, background_pflops=0.0, state="UP", partition_state="UP")
        marked = sorted(self.runs.values(), key=lambda run: run.job_id)
        return slurm.SiteReading(
            answered=True, pools={self.pool.pk: reading}, marked=marked, ours={slurm.our_job_id(r): r for r in marked}
        )

    def start(self, job, pool, *, step_code, toolchain):
        self.next_id += 1
        self.runs[self.next_id] = _run(self.next_id, job, "RUNNING")
        self.started.append(job.pk)
        return self.next_id

    def lose(self, run_id):
        self.runs[run_id] = _run(run_id, None, "NODE_FAIL", comment=self.runs[run_id].comment)


def _run(run_id, job, state, *, comment=None):
    return SlurmJob(
        job_id=run_id,
        name="af",
        comment=comment or slurm.mark(job.pk),
        partition="data",
        state=state,
        user="factory",
        account="",
        cpus=2,
        submitted_at=None,
        started_at=None,
        ended_at=None,
        time_limit_minutes=10,
        restarts=0,
        reason="",
    )


def test_a_job_whose_runs_are_lost_too_often_stops_with_an_alarm_until_retried(monkeypatch, pool, ops_user, dispatcher):
    cluster = FakeCluster(monkeypatch, pool)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    now = clock.now()
    services.dispatch_tick(now=now)
    job = Job.objects.get()

    for attempt in (1, 2):
        now += timedelta(minutes=5)
        services.dispatch_tick(now=now)  # it runs a while
        run_id = Job.objects.get().cluster_job_id
        cluster.lose(run_id)
        now += timedelta(minutes=5)
        services.dispatch_tick(now=now)
        assert Job.objects.get().attempts == attempt

    job.refresh_from_db()
    assert (job.state, job.pending_reason) == (JobState.PREEMPTED, services.RUNS_LOST)
    assert job.done_pflops_hours > 0  # its progress kept
    assert Notice.objects.filter(kind=JOB_RUNS_LOST, recipient=dispatcher).count() == 1
    services.dispatch_tick(now=now + timedelta(minutes=5))
    assert Job.objects.get().state == JobState.PREEMPTED  # not placed again by itself
    assert len(cluster.started) == 2

    assert services.jobs_retry(jobs=[job], actor=dispatcher) == 1
    now += timedelta(minutes=10)
    services.dispatch_tick(now=now)

    job.refresh_from_db()
    assert (job.state, job.attempts, job.pending_reason) == (JobState.RUNNING, 0, "")
    assert len(cluster.started) == 3
    # Lost twice again after the retry: it stops again, and dispatch hears of it again.
    for _ in range(2):
        cluster.lose(Job.objects.get().cluster_job_id)
        now += timedelta(minutes=5)
        services.dispatch_tick(now=now)
    assert Job.objects.get().pending_reason == services.RUNS_LOST
    assert Notice.objects.filter(kind=JOB_RUNS_LOST, recipient=dispatcher).count() == 2


def test_only_dispatch_retries_jobs(monkeypatch, pool, ops_user):
    with pytest.raises(PoolActionNotPermitted):
        services.jobs_retry(jobs=[], actor=ops_user)


def test_the_pool_page_says_what_runs_its_jobs_and_whether_the_cluster_answers(client, pool, ops_user):
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    services.dispatch_tick(now=clock.now())  # the fake is not installed: the cluster at 127.0.0.1:9 does not answer
    client.force_login(ops_user)

    page = client.get(f"/dispatch/pools/{pool.pk}/").content.decode()
    center = client.get("/dispatch/").content.decode()

    for html in (page, center):
        assert 'data-executor="slurm"' in html
        assert 'data-connection="down"' in html
        assert "secret-token" not in html
    assert "partition data" in page
    job = Job.objects.get()
    assert job.state == JobState.QUEUED  # nothing placed on a cluster that does not answer


def test_a_running_job_shows_its_slurm_job_id(client, monkeypatch, pool, ops_user):
    FakeCluster(monkeypatch, pool)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    services.dispatch_tick(now=clock.now())
    job = Job.objects.get()
    client.force_login(ops_user)

    page = client.get(f"/dispatch/pools/{pool.pk}/").content.decode()

    assert f'data-slurm-job="{job.cluster_job_id}"' in page
    assert 'data-connection="up"' in page


@pytest.mark.parametrize(
    ("executor", "cluster", "error"),
    [
        ("slurm", "", "SLURM_CLUSTERS"),
        ("slurm", "nowhere", "xinghe"),
        ("simulated", "xinghe", "leave this blank"),
    ],
)
def test_the_admin_names_a_cluster_for_a_slurm_site_only(executor, cluster, error):
    form = ComputeSiteForm(
        data={
            "name": "Lanxi",
            "city": "Lanxi",
            "in_province": True,
            "monitored_pflops": "100",
            "executor": executor,
            "cluster": cluster,
        }
    )

    assert not form.is_valid()
    assert error in " ".join(form.errors["cluster"])
    assert ComputeSite in admin_site._registry


def test_the_forecast_counts_the_load_last_read_from_the_cluster(monkeypatch, pool):
    FakeCluster(monkeypatch, pool)
    ComputePool.objects.filter(pk=pool.pk).update(background_pflops=Decimal(120))

    states, background = forecast.present_pools(clock.now())

    (state,) = [state for state in states if state.id == pool.pk]
    assert background(state, clock.now() + timedelta(days=3)) == 120.0


def test_a_site_whose_cluster_is_not_configured_stops_only_itself(pool, ops_user, settings):
    settings.SLURM_CLUSTERS = {}  # the setting lost the cluster the site names
    simulated = compute_pool(kind="data_processing", capacity=1000)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")

    services.dispatch_tick(now=clock.now())

    job = Job.objects.get()
    assert (job.state, job.pool) == (JobState.RUNNING, simulated)  # the rest of the factory runs on
    site = ComputeSite.objects.get(pk=pool.site_id)
    assert site.connection == Connection.DOWN
    assert "SLURM_CLUSTERS" in site.connection_error
