import shutil
import tempfile
from pathlib import Path

import pytest

from tests.slurm.cluster import LocalCluster, require_slurm


@pytest.fixture(scope="session")
def slurm_cluster():
    """One real cluster for the whole run: starting one takes seconds, and each test leaves it idle."""
    require_slurm()
    # Not under pytest's own temporary folder: that is the running user's alone, and slurmrestd reads the
    # configuration as the unprivileged user it drops to.
    root = Path(tempfile.mkdtemp(prefix="factory-slurm-"))
    root.chmod(0o755)
    cluster = LocalCluster(root)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
