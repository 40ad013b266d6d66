"""A client of a Slurm cluster's REST API (slurmrestd, OpenAPI v0.0.38: Slurm 22.05, the oldest still in use at
the province's computing centers), as a remote center exposes it to a tenant: JWT authentication, and only what the
factory's dispatch needs of it (the cluster's partitions, nodes and jobs; submit and cancel a batch job).

No Django here: the executor (dispatch.executors) gives it a URL, a user and a token from settings.

Two kinds of failure, because they mean different things to the dispatch center:
- `ClusterUnreachable`: the cluster did not answer (refused, timed out, a gateway error). Nothing is known of it;
  its pools are unknown until it answers again.
- `ClusterRefused`: it answered and said no (an unknown partition, a job it does not know, bad credentials).
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

API = "slurm/v0.0.38"
# A cluster that takes longer than this to answer is as good as down for one dispatch tick (whose task has 30 s).
TIMEOUT_SECONDS = 5


class ClusterUnreachable(Exception):
    """The cluster did not answer."""


class ClusterRefused(Exception):
    """The cluster answered with an error: `errors` as Slurm gave them."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []


# Slurm's job states, by what they mean to the factory.
PENDING_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SUSPENDED"})
RUNNING_STATES = frozenset({"RUNNING", "CONFIGURING", "COMPLETING", "STAGE_OUT", "SIGNALING"})
DONE_STATES = frozenset({"COMPLETED"})
# Ended without finishing its work: the job is run again, or stops with an alarm after too many tries.
LOST_STATES = frozenset(
    {"FAILED", "NODE_FAIL", "TIMEOUT", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "PREEMPTED", "CANCELLED"}
)


def _moment(seconds) -> datetime | None:
    """Slurm's Unix times, 0 for never."""
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


@dataclass(frozen=True)
class Partition:
    name: str
    state: str  # UP, DOWN, DRAIN or INACTIVE
    total_cpus: int
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Node:
    name: str
    state: str  # idle, mixed, allocated, down, drained, ...
    flags: tuple[str, ...]  # DRAIN, NOT_RESPONDING, ...
    cpus: int
    allocated_cpus: int
    partitions: tuple[str, ...]


@dataclass(frozen=True)
class SlurmJob:
    job_id: int
    name: str
    comment: str
    partition: str
    state: str
    user: str
    account: str
    cpus: int
    submitted_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    time_limit_minutes: int | None
    restarts: int
    reason: str

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def finished(self) -> bool:
        return self.state in DONE_STATES

    @property
    def lost(self) -> bool:
        """Ended without finishing, or queued again by the cluster itself (a node failure where the center lets
        Slurm requeue): either way the run is lost, and starting over would forget its progress."""
        return self.state in LOST_STATES or self.restarts > 0


def _job(raw: dict) -> SlurmJob:
    return SlurmJob(
        job_id=raw["job_id"],
        name=raw.get("name") or "",
        comment=raw.get("comment") or "",
        partition=raw.get("partition") or "",
        state=raw.get("job_state") or "",
        user=raw.get("user_name") or "",
        account=raw.get("account") or "",
        cpus=raw.get("cpus") or 0,
        submitted_at=_moment(raw.get("submit_time")),
        started_at=_moment(raw.get("start_time")) if raw.get("job_state") not in PENDING_STATES else None,
        ended_at=_moment(raw.get("end_time")) if raw.get("job_state") not in PENDING_STATES | RUNNING_STATES else None,
        time_limit_minutes=raw.get("time_limit"),
        restarts=raw.get("restart_cnt") or 0,
        reason=raw.get("state_reason") or "",
    )


class SlurmRestClient:
    """One cluster's slurmrestd, as `user` with `token` (a JWT the center issued for the factory's account)."""

    def __init__(self, *, url: str, user: str, token: str, timeout: float = TIMEOUT_SECONDS):
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"A cluster's REST API is reached over http or https, not {url!r}")
        self.url = url.rstrip("/")
        self.user = user
        self._token = token
        self.timeout = timeout

    def __repr__(self):  # never the token: it may end up in a log
        return f"SlurmRestClient({self.url!r}, user={self.user!r})"

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(  # noqa: S310 - http(s), checked in __init__
            f"{self.url}/{API}/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "X-SLURM-USER-NAME": self.user,
                "X-SLURM-USER-TOKEN": self._token,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 - checked in __init__  # nosec B310
                payload = answer.read()
        except urllib.error.HTTPError as error:
            # slurmrestd answers its refusals with 500 and the reasons in JSON; a gateway in front of a cluster that is
            # down answers 502-504 without them.
            try:
                refusal = json.loads(error.read() or b"{}")
            except ValueError:
                refusal = {}
            if refusal.get("errors"):
                raise ClusterRefused(_first_error(refusal, "Slurm refused"), refusal["errors"]) from error
            if error.code in (502, 503, 504):
                raise ClusterUnreachable(f"{self.url} answered {error.code}") from error
            raise ClusterRefused(f"{self.url} answered {error.code}") from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise ClusterUnreachable(f"{self.url} does not answer: {getattr(error, 'reason', error)}") from error
        try:
            answer = json.loads(payload or b"{}")
        except ValueError as error:
            raise ClusterUnreachable(f"{self.url} answered something that is not JSON") from error
        if answer.get("errors"):
            raise ClusterRefused(_first_error(answer, "Slurm refused"), answer["errors"])
        return answer

    def ping(self) -> None:
        """ClusterUnreachable unless the controller answers."""
        for ping in self._call("GET", "ping").get("pings", []):
            if ping.get("ping") != "UP":
                raise ClusterUnreachable(f"{self.url}: controller {ping.get('hostname')} is {ping.get('ping')}")

    def partitions(self) -> list[Partition]:
        return [
            Partition(
                name=raw["name"],
                state=raw.get("state") or "",
                total_cpus=raw.get("total_cpus") or 0,
                nodes=tuple(name for name in (raw.get("nodes") or "").split(",") if name),
            )
            for raw in self._call("GET", "partitions").get("partitions", [])
        ]

    def nodes(self) -> list[Node]:
        return [
            Node(
                name=raw["name"],
                state=raw.get("state") or "",
                flags=tuple(raw.get("state_flags") or ()),
                cpus=raw.get("cpus") or 0,
                allocated_cpus=raw.get("alloc_cpus") or 0,
                partitions=tuple(raw.get("partitions") or ()),
            )
            for raw in self._call("GET", "nodes").get("nodes", [])
        ]

    def jobs(self) -> list[SlurmJob]:
        """Every job the controller still knows, the factory's and other tenants'."""
        return [_job(raw) for raw in self._call("GET", "jobs").get("jobs", [])]

    def job(self, job_id: int) -> SlurmJob | None:
        """The job, or None when the controller does not know it (never submitted, or long purged)."""
        try:
            found = self._call("GET", f"job/{int(job_id)}").get("jobs", [])
        except ClusterRefused as refused:
            if _numbered(refused, INVALID_JOB_ID):
                return None
            raise
        return _job(found[0]) if found else None

    def submit(
        self, *, name: str, comment: str, partition: str, cpus: int, minutes: int, script: str, workdir: str
    ) -> int:
        """A batch job of one task on `cpus` CPUs of `partition` for at most `minutes`, running `script`; its id."""
        answer = self._call(
            "POST",
            "job/submit",
            {
                "job": {
                    "name": name,
                    "comment": comment,
                    "partition": partition,
                    "tasks": 1,
                    "cpus_per_task": cpus,
                    "time_limit": minutes,
                    "current_working_directory": workdir,
                    "standard_output": "/dev/null",
                    "environment": {"PATH": "/usr/local/bin:/usr/bin:/bin"},
                    # A run lost (node failure) ends: the factory queues it again with its progress, not Slurm from
                    # the start.
                    "requeue": False,
                },
                "script": script,
            },
        )
        return int(answer["job_id"])

    def cancel(self, job_id: int) -> None:
        """Cancel the job; one that has ended already is left as it is."""
        try:
            self._call("DELETE", f"job/{int(job_id)}")
        except ClusterRefused as refused:
            if not _numbered(refused, INVALID_JOB_ID, ALREADY_DONE):
                raise


# Slurm's error numbers (slurm_errno.h) the client tells apart.
INVALID_JOB_ID = 2017
ALREADY_DONE = 2021


def _first_error(answer: dict, fallback: str) -> str:
    for error in answer.get("errors") or ():
        return error.get("description") or error.get("error") or fallback
    return fallback


def _numbered(refused: ClusterRefused, *numbers: int) -> bool:
    """Whether Slurm refused with one of these error numbers (named error_number or error_code by its version)."""
    return any((error.get("error_number") or error.get("error_code")) in numbers for error in refused.errors)
