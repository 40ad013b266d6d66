"""The Slurm executor: a compute site that is a real Slurm cluster, reached through its REST API.

The mapping (DESIGN: a pool is a partition):
- a site is a cluster, named in the SLURM_CLUSTERS setting with its URL, user and token (never in the database,
  never in a page);
- a pool is a partition (`ComputePool.partition`, or the pool's name), and one of its allocation units (a CPU here,
  a GPU at a real center) is worth `ComputePool.pflops_per_unit` PFLOPS;
- a job is a batch job in the pool's partition, marked with our job id in its comment (`factory-job:<id>`), so
  that after any failure the factory finds its own jobs again and never starts one twice.

Slurm keeps real (wall) time; the factory clock may run faster (bin/run's 60 times). A job's time limit and the
command it runs are its remaining work at the factory's speed, so a job that takes the factory ten hours takes a
demo cluster ten minutes.

What the cluster says is read once per tick (`read_site`), before the tick's transaction, so that a slow cluster
never holds the tick's locks; what the planner decides is carried out after the tick commits (`start`, `cancel`).
"""

import logging
import math
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dispatch.executors.slurm_rest import ClusterRefused, ClusterUnreachable, SlurmJob, SlurmRestClient
from dispatch.models import ComputePool, ComputeSite, Job, PoolState
from factory import clock

logger = logging.getLogger(__name__)

MARK = "factory-job:"
# Slurm rounds a time limit to minutes; a job is given this much more than its remaining work, so that a busy node
# does not end it a moment before it finishes.
TIME_LIMIT_MARGIN = 1.25
TIME_LIMIT_MIN_MINUTES = 2


def mark(job_id: int) -> str:
    return f"{MARK}{job_id}"


def our_job_id(slurm_job: SlurmJob) -> int | None:
    """The factory's job id a Slurm job carries, or None for another tenant's."""
    if not slurm_job.comment.startswith(MARK):
        return None
    try:
        return int(slurm_job.comment[len(MARK) :])
    except ValueError:
        return None


def client_for(site: ComputeSite) -> SlurmRestClient:
    """The site's cluster as the SLURM_CLUSTERS setting describes it."""
    try:
        cluster = settings.SLURM_CLUSTERS[site.cluster]
    except KeyError:
        raise ImproperlyConfigured(
            f"Site {site.name} runs on cluster {site.cluster!r}, which SLURM_CLUSTERS does not name"
        ) from None
    return SlurmRestClient(url=cluster["url"], user=cluster["user"], token=cluster["token"])


def partition_of(pool: ComputePool) -> str:
    return pool.partition or pool.name


def units_for(demand_pflops: Decimal, pool: ComputePool) -> int:
    """How many CPUs (or GPUs) of the pool's partition a job's demand is."""
    return max(1, math.ceil(Decimal(demand_pflops) / pool.pflops_per_unit))


def real_seconds(factory_hours: float) -> float:
    """How long `factory_hours` of the factory clock last on the cluster's."""
    return factory_hours * 3600 / clock.speed()


def factory_hours(real: timedelta) -> float:
    return real.total_seconds() * clock.speed() / 3600


@dataclass
class PoolReading:
    """A partition as the cluster reports it: what it has, what other tenants use of it, and its state."""

    capacity_pflops: float
    background_pflops: float
    state: str  # UP when it takes work: the partition's own state, or DOWN when none of its nodes can run a job
    partition_state: str  # the partition's own state (UP, DRAIN, DOWN, INACTIVE)


@dataclass
class SiteReading:
    """A cluster at one tick: whether it answered, its partitions by pool, and its jobs that carry our mark."""

    answered: bool
    error: str = ""
    pools: dict[int, PoolReading] = field(default_factory=dict)
    # Every job there that carries our mark (a job run twice would show twice), and by our job id its latest run.
    marked: list[SlurmJob] = field(default_factory=list)
    ours: dict[int, SlurmJob] = field(default_factory=dict)


def read_site(site: ComputeSite, pools: list[ComputePool]) -> SiteReading:
    """Read the cluster: never raises for a cluster that does not answer or refuses; the reading says so."""
    client = client_for(site)
    try:
        partitions = {partition.name: partition for partition in client.partitions()}
        nodes = {node.name: node for node in client.nodes()}
        jobs = client.jobs()
    except (ClusterUnreachable, ClusterRefused) as error:
        return SiteReading(answered=False, error=str(error))
    marked = sorted((job for job in jobs if our_job_id(job) is not None), key=lambda job: job.job_id)
    ours = {our_job_id(job): job for job in marked}
    # Other tenants' running jobs, by partition, in allocation units.
    theirs: dict[str, int] = {}
    for job in jobs:
        if job.running and our_job_id(job) is None:
            theirs[job.partition] = theirs.get(job.partition, 0) + job.cpus
    readings = {}
    for pool in pools:
        partition = partitions.get(partition_of(pool))
        if partition is None:
            readings[pool.pk] = PoolReading(
                capacity_pflops=0.0, background_pflops=0.0, state="MISSING", partition_state="MISSING"
            )
            continue
        units = sum(nodes[name].cpus for name in partition.nodes if name in nodes and _usable(nodes[name]))
        worth = float(pool.pflops_per_unit)
        readings[pool.pk] = PoolReading(
            capacity_pflops=units * worth,
            background_pflops=theirs.get(partition.name, 0) * worth,
            # A partition whose nodes are all down takes no work, whatever its own state says.
            state=partition.state if units else "DOWN",
            partition_state=partition.state,
        )
    return SiteReading(answered=True, pools=readings, marked=marked, ours=ours)


def _usable(node) -> bool:
    """A node that can run a job now: not down, drained or failing, and answering its controller."""
    down = {"down", "drain", "drained", "fail", "failing", "future", "unknown"}
    return node.state.lower() not in down and not {"DRAIN", "NOT_RESPONDING", "FAIL"} & set(node.flags)


def command_for(job: Job, *, step_code: str, toolchain: str) -> str:
    """The shell command a job's batch script runs: SLURM_JOB_COMMAND with the job's step, its toolchain and its
    remaining work in real seconds (the default sleeps that long: a simulation on a real cluster)."""
    remaining_hours = float((job.work_pflops_hours - job.done_pflops_hours) / job.demand_pflops)
    seconds = max(0.1, round(real_seconds(remaining_hours), 1))
    return settings.SLURM_JOB_COMMAND.format(
        seconds=seconds, job=job.pk, order=job.order_id, step=step_code, toolchain=toolchain or "-"
    )


def time_limit_minutes(job: Job) -> int:
    remaining_hours = float((job.work_pflops_hours - job.done_pflops_hours) / job.demand_pflops)
    return max(TIME_LIMIT_MIN_MINUTES, math.ceil(real_seconds(remaining_hours) * TIME_LIMIT_MARGIN / 60))


def start(job: Job, pool: ComputePool, *, step_code: str, toolchain: str) -> int:
    """Submit the job's batch job to the pool's partition; the cluster's job id."""
    cluster = settings.SLURM_CLUSTERS[pool.site.cluster]
    return client_for(pool.site).submit(
        name=f"af-{job.order_id}-{step_code}"[:100],
        comment=mark(job.pk),
        partition=partition_of(pool),
        cpus=units_for(job.demand_pflops, pool),
        minutes=time_limit_minutes(job),
        script=f"#!/bin/sh\nexec {command_for(job, step_code=step_code, toolchain=toolchain)}\n",
        # A folder on the cluster where the job starts (SLURM_CLUSTERS says which; the root folder by default).
        workdir=cluster.get("workdir", "/"),
    )


def cancel(site: ComputeSite, cluster_job_id: int) -> None:
    client_for(site).cancel(cluster_job_id)


def progress_hours(slurm_job: SlurmJob, *, now_real: datetime) -> float:
    """Factory hours a Slurm job has run (its start to its end, or to now)."""
    if slurm_job.started_at is None:
        return 0.0
    end = slurm_job.ended_at or now_real
    return max(0.0, factory_hours(end - slurm_job.started_at))


# The partition state that carries out each state of a pool: draining takes no new jobs, offline starts none.
PARTITION_STATES = {PoolState.ACTIVE: "UP", PoolState.DRAINING: "DRAIN", PoolState.OFFLINE: "DOWN"}


def may_set_partitions(site: ComputeSite) -> bool:
    """Whether the factory administers the site's cluster: slurmrestd 22.05 cannot change a partition, so that takes
    scontrol with the cluster's own configuration (`slurm_conf` in SLURM_CLUSTERS), as on a center the factory runs
    itself. Elsewhere the center's staff change partitions, and the factory only stops placing work there."""
    return bool(settings.SLURM_CLUSTERS.get(site.cluster, {}).get("slurm_conf"))


def set_partition_state(site: ComputeSite, partition: str, state: str) -> None:
    """Set a partition's state (UP, DRAIN, DOWN) with scontrol; ClusterRefused if it says no."""
    scontrol = shutil.which("scontrol") or "/usr/bin/scontrol"
    environment = {**os.environ, "SLURM_CONF": settings.SLURM_CLUSTERS[site.cluster]["slurm_conf"]}
    try:
        subprocess.run(  # noqa: S603 - our own arguments, no shell
            [scontrol, "update", f"PartitionName={partition}", f"State={state}"],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except subprocess.CalledProcessError as error:
        raise ClusterRefused(error.stderr.strip() or f"scontrol exited with {error.returncode}") from error
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ClusterUnreachable(str(error)) from error
