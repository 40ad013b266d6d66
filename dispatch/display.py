"""How dispatch states read on every page (UI.md: one visual language, never colour alone).

Pending reasons are short codes written by the planner (dispatch.engine.planner) and the tick
(dispatch.services.BUDGET_EXCEEDED); here they become words and a one-line explanation, the way Slurm's
`squeue` explains "Resources" or "Priority" — but in the factory's words, in both languages.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from dispatch.engine import planner
from dispatch.models import JobState, PoolState
from dispatch.services import BUDGET_EXCEEDED, RUNS_LOST

# Status colours mean the same everywhere: running / in service = green, waiting or winding down = amber,
# out of service or pushed out = red, finished = grey (nothing left to watch).
POOL_STATE_TONE = {PoolState.ACTIVE: "green", PoolState.DRAINING: "amber", PoolState.OFFLINE: "red"}
JOB_STATE_TONE = {JobState.QUEUED: "amber", JobState.RUNNING: "green", JobState.PREEMPTED: "red", JobState.DONE: "grey"}
PRIORITY_TONE = {"low": "grey", "normal": "grey", "high": "amber", "urgent": "red"}


@dataclass(frozen=True)
class PendingReason:
    code: str
    words: str
    explanation: str
    tone: str = "amber"


_REASONS = {
    planner.NO_POOL_OF_KIND: (
        _("No pool of this kind"),
        _("No compute pool of the kind this step needs exists. Add one (admin) to run it."),
        "red",
    ),
    planner.RESIDENCY: (
        _("Data residency: no trusted in-province pool"),
        _(
            "Sensitive data may only be processed on trusted in-province pools, and none of this kind exists. "
            "Mark a pool trusted or add one in the province."
        ),
        "red",
    ),
    planner.TRUSTED_POOLS_FULL: (
        _("Trusted pools full"),
        _(
            "Sensitive data: other pools of this kind have room, but it may only run on the trusted "
            "in-province ones, which are full."
        ),
        "amber",
    ),
    planner.POOLS_UNAVAILABLE: (
        _("Pools draining or offline"),
        _("Every pool that could run it is draining or offline. It starts when one is activated."),
        "red",
    ),
    planner.TOO_LARGE: (
        _("Larger than any pool"),
        _("It needs more PFLOPS than the whole capacity of any pool that could run it."),
        "red",
    ),
    planner.NO_ROOM: (
        _("Waiting for room"),
        _("The pools that could run it are full; it starts when running work finishes."),
        "amber",
    ),
    planner.HIGHER_PRIORITY_AHEAD: (
        _("Higher priority ahead"),
        _("Work of higher priority is ahead of it in the queue."),
        "amber",
    ),
    planner.RESERVED: (
        _("Room reserved for the job ahead"),
        _("It would fit now, but would delay the job ahead of it, which has room reserved."),
        "amber",
    ),
    planner.MAINTENANCE: (
        _("Pool closes for maintenance"),
        _("A pool has room, but closes for a maintenance window before it would finish; it runs elsewhere or after."),
        "amber",
    ),
    planner.HELD: (
        _("Room reserved for another client"),
        _("The room it fits is reserved for another client or order before it would finish."),
        "amber",
    ),
    planner.PREEMPTED: (
        _("Preempted"),
        _("More urgent work took its place; it runs again with its progress kept."),
        "red",
    ),
    BUDGET_EXCEEDED: (
        _("Client over budget"),
        _("The client has used its monthly compute budget; only its urgent work runs until the budget grows."),
        "red",
    ),
    RUNS_LOST: (
        _("Runs lost on its cluster"),
        _("Its cluster lost it too many times (a failed job, a lost node); it waits until dispatch staff retry it."),
        "red",
    ),
}
_NOT_PLANNED = (
    _("Not planned yet"),
    _("The next dispatch tick places it or says why it waits."),
    "grey",
)


def pending_reason(code: str) -> PendingReason:
    """Words and an explanation for a pending-reason code (unknown codes are shown as they are)."""
    if not code:
        return PendingReason("", *_NOT_PLANNED)
    words, explanation, tone = _REASONS.get(code, (code, "", "amber"))
    return PendingReason(code, words, explanation, tone)
