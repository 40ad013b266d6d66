"""What production shows and yields, as plain figures: progress, the nominal ETA, the artifact a gate releases.

One rule for the services, which apply it as steps finish and gates open (orders.services), and for a builder
that writes a factory's past in bulk (demo.scale), so that both write the same progress, ETAs and artifacts.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from orders.models import (
    HANDED_OVER_STATUSES,
    IN_FLIGHT_STATUSES,
    WORKING_STEP_STATUSES,
    OrderStatus,
    OrderStep,
    StageStatus,
    StepStatus,
)


@dataclass(frozen=True)
class StageCount:
    """One stage of an order as progress counts it."""

    workshop: str
    status: str
    steps_total: int
    steps_done: int
    remaining_hours: Decimal  # nominal hours of its steps not done


@dataclass(frozen=True)
class Progress:
    stages: list[int]  # each stage's progress (%), in stage order
    order: int  # the order's (%)
    current_workshop: str  # the workshop at work or at its gate while the order is in flight ("" otherwise)
    nominal_eta: datetime | None  # in flight: the nominal time left from ``at``; ready: ``at``; otherwise none


def order_progress(*, status: str, stages: list[StageCount], at: datetime) -> Progress:
    """An order's progress and nominal ETA at ``at`` from its stages: the steps done, and the nominal hours of the
    steps left plus a gate review for each stage not approved yet. Ready (or handed over) is 100 %."""
    total = sum(stage.steps_total for stage in stages)
    done = sum(stage.steps_done for stage in stages)
    current, eta = "", None
    if status in IN_FLIGHT_STATUSES:
        current = next(
            (stage.workshop for stage in stages if stage.status not in (StageStatus.APPROVED, StageStatus.PENDING)), ""
        )
        remaining = sum((stage.remaining_hours for stage in stages), Decimal(0))
        gates = sum(1 for stage in stages if stage.status != StageStatus.APPROVED)
        eta = at + timedelta(hours=float(remaining) + settings.GATE_REVIEW_HOURS * gates)
    elif status == OrderStatus.READY:
        eta = at
    finished = status == OrderStatus.READY or status in HANDED_OVER_STATUSES
    return Progress(
        stages=[
            100 if stage.status == StageStatus.APPROVED else stage.steps_done * 100 // max(stage.steps_total, 1)
            for stage in stages
        ],
        order=100 if finished else done * 100 // max(total, 1),
        current_workshop=current,
        nominal_eta=eta,
    )


def next_in_stage(steps: list[OrderStep]) -> tuple[OrderStep | None, bool]:
    """What comes next in a stage, from its steps in position order: the waiting step to make ready (none while
    one is ready or running), and whether every step is done, so that the stage waits at its gate."""
    if any(step.status in WORKING_STEP_STATUSES for step in steps):
        return None, False
    waiting = next((step for step in steps if step.status == StepStatus.PENDING), None)
    return waiting, waiting is None


def artifact_fields(*, reference: str, kind: str, earlier_of_kind: int, work: Decimal) -> dict:
    """What a stage's gate release produces (simulated): the artifact's name, version, size and checksum.

    ``earlier_of_kind``: the order's artifacts of this kind already produced (a reworked stage releases anew).
    """
    version = f"1.{earlier_of_kind}.0"
    return {
        "kind": kind,
        "name": f"{reference.lower()}-{kind}",
        "version": version,
        # Artifacts grow with the work that went into them.
        "size_bytes": int(work * 1_000_000) + 4096,
        "checksum": hashlib.sha256(f"{reference}:{kind}:{version}:{work}".encode()).hexdigest(),
    }
