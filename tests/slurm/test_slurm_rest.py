"""The Slurm REST client against a real cluster (tests/slurm/cluster.py): what the dispatch center reads of a
cluster and does to it, and how it tells a cluster that refuses from one that does not answer."""

import pytest

from dispatch.executors.slurm_rest import ClusterRefused, ClusterUnreachable, SlurmRestClient
from tests.processes import wait_for
from tests.slurm.cluster import NODE_CPUS, PARTITIONS

SLEEP = "#!/bin/sh\nsleep {seconds}\n"


def _submit(client, cluster, *, seconds=30, cpus=4, partition="train", name="af-job-1", comment="factory-job:1"):
    return client.submit(
        name=name,
        comment=comment,
        partition=partition,
        cpus=cpus,
        minutes=5,
        script=SLEEP.format(seconds=seconds),
        workdir=str(cluster.root / "work"),
    )


@pytest.fixture
def client(slurm_cluster):
    client = slurm_cluster.client()
    yield client
    for job in client.jobs():  # leave the cluster idle for the next test
        if job.pending or job.running:
            client.cancel(job.job_id)
    wait_for(lambda: not any(job.pending or job.running for job in client.jobs()), "the cluster to be idle")


def test_the_partitions_and_their_node_are_read(client):
    partitions = {partition.name: partition for partition in client.partitions()}
    (node,) = client.nodes()

    assert set(partitions) == set(PARTITIONS)
    assert all(p.state == "UP" and p.total_cpus == NODE_CPUS and p.nodes == ("node1",) for p in partitions.values())
    assert (node.name, node.cpus, node.allocated_cpus, set(node.partitions)) == ("node1", NODE_CPUS, 0, set(PARTITIONS))


def test_a_job_submitted_with_our_id_runs_and_finishes(client, slurm_cluster):
    job_id = _submit(client, slurm_cluster, seconds=1, name="af-job-42", comment="factory-job:42")

    finished = wait_for(lambda: (job := client.job(job_id)) and job.finished and job, "the job to complete")

    assert (finished.name, finished.comment, finished.partition, finished.cpus) == (
        "af-job-42",
        "factory-job:42",
        "train",
        4,
    )
    assert finished.started_at is not None
    assert finished.ended_at >= finished.started_at


def test_a_running_job_takes_its_cpus_and_a_cancelled_one_gives_them_back(client, slurm_cluster):
    job_id = _submit(client, slurm_cluster, cpus=6)
    wait_for(lambda: client.job(job_id).running, "the job to run")

    assert client.nodes()[0].allocated_cpus == 6

    client.cancel(job_id)

    cancelled = wait_for(lambda: (job := client.job(job_id)) and job.lost and job, "the job to be cancelled")
    assert cancelled.state == "CANCELLED"
    wait_for(lambda: client.nodes()[0].allocated_cpus == 0, "its CPUs to be free")
    client.cancel(job_id)  # again: nothing to do, no error


def test_another_tenants_jobs_are_seen_as_theirs(client, slurm_cluster):
    theirs = slurm_cluster.client(user="nobody")
    job_id = _submit(theirs, slurm_cluster, cpus=8, name="their-training", comment="")
    wait_for(lambda: client.job(job_id).running, "their job to run")

    seen = {job.job_id: job for job in client.jobs()}

    assert (seen[job_id].user, seen[job_id].cpus, seen[job_id].comment) == ("nobody", 8, "")
    assert client.nodes()[0].allocated_cpus == 8


def test_unknown_jobs_and_partitions_are_told_apart_from_a_cluster_that_does_not_answer(client, slurm_cluster):
    assert client.job(987654) is None
    client.cancel(987654)
    with pytest.raises(ClusterRefused, match="partition"):
        _submit(client, slurm_cluster, partition="no-such-partition")
    with pytest.raises(ClusterRefused):
        SlurmRestClient(url=slurm_cluster.url, user="root", token="not-a-token").jobs()

    slurm_cluster.kill("slurmrestd")
    try:
        with pytest.raises(ClusterUnreachable):
            client.jobs()
    finally:
        slurm_cluster.start_rest()
    assert client.job(987654) is None


def test_the_token_is_never_in_the_clients_representation(slurm_cluster):
    client = slurm_cluster.client()

    assert client._token not in repr(client)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://cluster", "cluster:6820"])
def test_a_cluster_is_reached_over_http_or_https_only(url):
    with pytest.raises(ValueError, match="http or https"):
        SlurmRestClient(url=url, user="factory", token="t")
