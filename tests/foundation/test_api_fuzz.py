"""The API against schemathesis, as an integrator's tooling would test it: the CLI with every check
(`--checks all`) and every phase, examples, coverage, fuzzing and the stateful phase that chains operations
through the links it infers, run against a live server as operations staff and as a client user.

What no schema can state (a quote's forecast takes seconds; a valid request may name a stale version; the
factory's cross-field rules) is configured in schemathesis.toml, each with its reason. The example count here
is what the suite can afford; the closing notes of issue 18 give a run at 100 examples per operation."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from orders.models import OrderStatus
from tests.factories import UserFactory, client_user, compute_pool, open_ticket, order_at

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fuzz]

# Generated requests per operation and phase: bounded so the suite stays within its time budget.
EXAMPLES = 8
SEED = "20261207"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def floor(org_a, ops_user):
    """A little of every kind of object behind the ids the generated requests name."""
    compute_pool(kind="data_processing")
    compute_pool(kind="training", trusted=False, in_province=False)
    for status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.IN_PRODUCTION):
        order_at(status, staff=ops_user, client=org_a)
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a)
    open_ticket(order=delivered, actor=ops_user)
    return org_a


def _schemathesis(live_server, user, tmp_path) -> str:
    """Runs the CLI as `user`; returns what it printed, having failed the test on any failure or error."""
    token = Token.objects.get_or_create(user=user)[0].key
    command = [str(SCHEMATHESIS), "run", f"{live_server.url}/api/schema/", "--checks", "all"]
    command += ["--max-examples", str(EXAMPLES), "--seed", SEED, "--generation-deterministic", "--no-color"]
    command += ["--header", f"Authorization: Token {token}", "--report-dir", str(tmp_path), "--workers", "1"]
    run = subprocess.run(
        command,
        cwd=settings.BASE_DIR,  # where schemathesis.toml is
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    said = run.stdout + run.stderr
    summary = said[said.rfind("SUMMARY") :]
    print(f"\nschemathesis as {user.username}:\n{summary}")
    assert run.returncode == 0, said[-20000:]
    return summary


def test_as_operations_staff_every_check_and_phase_passes(live_server, floor, tmp_path):
    staff = UserFactory(username="fuzz-operations", roles=["operations"])

    summary = _schemathesis(live_server, staff, tmp_path)

    assert "Stateful" in summary


def test_as_a_client_every_check_and_phase_passes(live_server, floor, tmp_path):
    client = client_user(organization=floor, username="fuzz-client")

    summary = _schemathesis(live_server, client, tmp_path)

    assert "Stateful" in summary
