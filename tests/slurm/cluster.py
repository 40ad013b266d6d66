"""A real Slurm cluster for the tests, in a temporary folder: munged, slurmctld, one slurmd and slurmrestd with JWT
authentication, as a computing center runs them (Debian's slurm-wlm, slurmrestd and munge; 22.05 on this machine).

One node of 16 CPUs serves two partitions, `train` and `data`. Everything (keys, state, spool, logs, sockets) lives
in the folder and on free ports of 127.0.0.1, so it never touches a system Slurm, and the daemons can be killed and
started again mid-test, as the fault tests do.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import pytest

from dispatch.executors.slurm_rest import ClusterRefused, ClusterUnreachable, SlurmRestClient
from tests.processes import wait_for

PROGRAMS = ("munged", "slurmctld", "slurmd", "slurmrestd", "scontrol")
PACKAGES = "slurm-wlm slurmrestd munge"
NODE_CPUS = 16
PARTITIONS = ("train", "data")
# The account slurmrestd drops to: it refuses to run as root.
REST_USER = "nobody"


def _program(name: str) -> str | None:
    return shutil.which(name) or next((path for path in (f"/usr/sbin/{name}",) if os.path.exists(path)), None)


def missing() -> str | None:
    """Why no cluster can start here, or None."""
    absent = [name for name in PROGRAMS if _program(name) is None]
    if absent:
        return f"Slurm is not installed ({', '.join(absent)} missing): install the Debian packages {PACKAGES}"
    if os.geteuid() != 0:
        return "slurmd must run as root to start jobs"
    return None


def require_slurm() -> None:
    """Skip where the machine cannot run a cluster, with the reason; under CI that is a failure, as for the browser."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    """The cluster in `root`; `start()` brings it up, `stop()` takes it all down."""

    def __init__(self, root: Path):
        self.root = root
        self.name = f"factory{secrets.token_hex(3)}"
        self.ctld_port, self.node_port, self.rest_port = _free_port(), _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.rest_port}"
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._processes: dict[str, subprocess.Popen] = {}

    # --- Configuration ---------------------------------------------------------------------------------------

    def _write_configuration(self) -> None:
        for folder in ("munge", "state", "spool", "log", "work"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "work").chmod(0o777)  # jobs of other tenants run there too
        key = self.root / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o600)
        jwt = self.root / "jwt.key"
        jwt.write_bytes(secrets.token_bytes(32))
        jwt.chmod(0o600)
        host = socket.gethostname()
        root = self.root
        lines = [
            f"ClusterName={self.name}",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={self.ctld_port}",
            f"SlurmdPort={self.node_port}",
            "AuthType=auth/munge",
            f"AuthInfo=socket={root}/munge/munge.sock",
            "AuthAltTypes=auth/jwt",
            f"AuthAltParameters=jwt_key={jwt}",
            "CredType=cred/munge",
            f"StateSaveLocation={root}/state",
            f"SlurmdSpoolDir={root}/spool",
            f"SlurmctldPidFile={root}/slurmctld.pid",
            f"SlurmdPidFile={root}/slurmd.pid",
            f"SlurmctldLogFile={root}/log/slurmctld.log",
            f"SlurmdLogFile={root}/log/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "MpiDefault=none",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=1,bf_interval=1",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            # A laptop or CI machine has fewer CPUs than a training node: the node says what the test needs.
            "SlurmdParameters=config_overrides",
            "ReturnToService=2",
            "JobCompType=jobcomp/none",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "SlurmdTimeout=5",
            "SlurmctldTimeout=5",
            "MinJobAge=3600",
            f"NodeName=node1 NodeAddr=127.0.0.1 NodeHostname={host} CPUs={NODE_CPUS} RealMemory=1000 State=UNKNOWN",
            *(f"PartitionName={name} Nodes=node1 MaxTime=INFINITE State=UP" for name in PARTITIONS),
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    # --- Daemons ---------------------------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], *, env: dict | None = None) -> None:
        log = (self.root / "log" / f"{name}.out").open("ab")
        self._processes[name] = subprocess.Popen(
            command, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_munge(self) -> None:
        munge = self.root / "munge"
        self._spawn(
            "munged",
            [
                _program("munged"),
                "--foreground",
                "--force",
                f"--key-file={munge}/munge.key",
                f"--socket={munge}/munge.sock",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={munge}/munged.log",
                f"--seed-file={munge}/seed",
            ],
        )
        wait_for(lambda: (munge / "munge.sock").exists(), "munged's socket")

    def start_controller(self) -> None:
        self._spawn("slurmctld", [_program("slurmctld"), "-D", "-i"])
        wait_for(self._controller_answers, "slurmctld to answer", timeout=60)

    def start_node(self) -> None:
        self._spawn("slurmd", [_program("slurmd"), "-D", "-N", "node1"])
        wait_for(lambda: self._node_state() in ("idle", "mixed", "allocated"), "node1 to be up", timeout=60)

    def start_rest(self) -> None:
        self._spawn(
            "slurmrestd",
            [
                _program("slurmrestd"),
                "-a",
                "rest_auth/jwt",
                "-s",
                "openapi/v0.0.38",
                "-u",
                REST_USER,
                "-g",
                "nogroup",
                f"127.0.0.1:{self.rest_port}",
            ],
            # slurmrestd authenticates to slurmctld with a JWT of its own ("daemon": as the user of each request).
            env={**self.env, "SLURM_JWT": "daemon"},
        )
        wait_for(self._rest_answers, "slurmrestd to answer", timeout=60)

    def start(self) -> "LocalCluster":
        self._write_configuration()
        self.start_munge()
        self.start_controller()
        self.start_node()
        self.start_rest()
        return self

    def kill(self, name: str) -> None:
        """Kill one daemon outright (SIGKILL), as a crash would."""
        process = self._processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for name in ("slurmrestd", "slurmd", "slurmctld", "munged"):
            process = self._processes.pop(name, None)
            if process is None:
                continue
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=15)
        self._kill_job_processes()

    def _job_processes(self) -> list[int]:
        """The job step daemons of this cluster (they carry its SLURM_CONF) and the jobs they run (in its work
        folder): they outlive slurmd, as on a real node."""
        found = []
        conf, work = f"SLURM_CONF={self.conf}".encode(), str(self.root / "work")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if (
                    conf in (entry / "environ").read_bytes().split(b"\0")
                    and b"slurmstepd" in (entry / "cmdline").read_bytes()
                ) or os.readlink(entry / "cwd") == work:
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def _kill_job_processes(self) -> None:
        for pid in self._job_processes():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def crash_node(self) -> None:
        """The node dies: slurmd and every job running on it, killed outright."""
        self.kill("slurmd")
        self._kill_job_processes()

    # --- Reading it ------------------------------------------------------------------------------------------

    def scontrol(self, *arguments: str) -> str:
        return subprocess.run(
            [_program("scontrol"), *arguments], env=self.env, capture_output=True, text=True, check=True, timeout=30
        ).stdout

    def token(self, user: str = "root", *, seconds: int = 3600) -> str:
        """A JWT for `user`, as the center would issue the factory's account."""
        printed = self.scontrol("token", f"username={user}", f"lifespan={seconds}")
        return printed.strip().split("=", 1)[1]

    def client(self, user: str = "root") -> SlurmRestClient:
        return SlurmRestClient(url=self.url, user=user, token=self.token(user))

    def _controller_answers(self) -> bool:
        try:
            self.scontrol("ping")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False
        return True

    def _node_state(self) -> str:
        try:
            shown = self.scontrol("show", "node", "node1", "--oneliner")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return ""
        state = next((part.split("=", 1)[1] for part in shown.split() if part.startswith("State=")), "")
        return state.split("+")[0].lower()

    def _rest_answers(self) -> bool:
        try:
            self.client().ping()
        except (ClusterUnreachable, ClusterRefused, subprocess.CalledProcessError):
            time.sleep(0.2)
            return False
        return True
