"""Every state change of the security center: opening reviews at gates, approving, rejecting.

Gates are released and steps sent back through orders' own services; orders never imports this app.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from factory import clock, notes
from factory.limits import NOTE_MAX, clean_text
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import DataSensitivity, OrderStage, OrderStep
from security import notices, permissions
from security.errors import ReviewAlreadyDecided, ReviewerNotPermitted, ReviewInvalid
from security.models import Approval, ChecklistItem, Finding, Review, ReviewAnswer, ReviewStatus, Severity

FOUR_EYES = 2


@transaction.atomic
def reviews_watch_waiting() -> int:
    """Tell the reviewers of the reviews that have waited too long (security.notices); how many were told of."""
    return notices.tell_of_long_waits(now=clock.now())


def reviews_open_for_waiting_gates() -> list[Review]:
    """Open a review for every gate awaiting one. Idempotent: one review per gate passage."""
    opened = []
    for stage in order_selectors.stages_awaiting_review():
        if Review.objects.filter(stage=stage, gate_passage=stage.gate_passage).exists():
            continue
        try:
            opened.append(review_open(stage=stage))
        except IntegrityError:
            # Another opener won the race for this passage: its review is the one.
            continue
    return opened


@transaction.atomic
def review_open(*, stage: OrderStage) -> Review:
    order = stage.order
    sensitive = order.data_sensitivity == DataSensitivity.SENSITIVE
    review = Review.objects.create(
        order=order,
        stage=stage,
        workshop=stage.workshop,
        gate_passage=stage.gate_passage,
        sensitive=sensitive,
        approvals_required=FOUR_EYES if sensitive else 1,
        opened_at=clock.now(),
    )
    ReviewAnswer.objects.bulk_create(
        ReviewAnswer(review=review, position=item.position, item=item.text, item_zh=item.text_zh)
        for item in ChecklistItem.objects.filter(workshop=stage.workshop, active=True).order_by("position")
    )
    return review


def _lock_pending(review: Review, reviewer) -> Review:
    permissions.check_decide(reviewer)
    review = Review.objects.select_for_update().select_related("order", "stage").get(pk=review.pk)
    if review.status != ReviewStatus.PENDING:
        raise ReviewAlreadyDecided(
            _("This review is already %(status)s.") % {"status": review.get_status_display().lower()}
        )
    permissions.check_independent(reviewer, review)
    return review


def _record_answers(review: Review, answers: dict) -> list[ReviewAnswer]:
    """`answers` maps a checklist position to {"passed": bool, "note": str}."""
    rows = list(review.answers.select_for_update())
    for row in rows:
        answer = answers.get(row.position) or answers.get(str(row.position))
        if answer is None or answer.get("passed") is None:
            raise ReviewInvalid(
                _("Answer every checklist item (item %(position)d is unanswered).") % {"position": row.position},
                field="checklist",
            )
        note = clean_text(answer.get("note"), field="checklist", maximum=NOTE_MAX, invalid=ReviewInvalid)
        row.passed, row.note = bool(answer["passed"]), note
    ReviewAnswer.objects.bulk_update(rows, ["passed", "note"])
    return rows


@transaction.atomic
def review_approve(*, review: Review, reviewer, answers: dict) -> Review:
    """Approve with every checklist item answered and passed; the last needed approval releases the gate."""
    review = _lock_pending(review, reviewer)
    rows = _record_answers(review, answers)
    failed = [row.position for row in rows if not row.passed]
    if failed:
        raise ReviewInvalid(
            _("Item %(positions)s did not pass: reject the review with findings instead.")
            % {"positions": ", ".join(map(str, failed))},
            field="checklist",
        )
    if review.approvals.filter(reviewer=reviewer).exists():
        raise ReviewerNotPermitted(_("You already approved this review; a second reviewer must approve it too."))
    now = clock.now()
    Approval.objects.create(review=review, reviewer=reviewer, at=now)
    given = review.approvals.count()
    if given < review.approvals_required:
        order_services.order_note_review_decision(
            order=review.order,
            actor=reviewer,
            workshop=review.workshop,
            note=notes.APPROVAL_GIVEN.stored(given=given, required=review.approvals_required),
        )
        return review
    review.status, review.decided_at, review.reviewer = ReviewStatus.APPROVED, now, reviewer
    review.save(update_fields=["status", "decided_at", "reviewer"])
    order_services.stage_release_gate(
        stage=review.stage, actor=reviewer, note=notes.REVIEW_APPROVED.stored(count=given)
    )
    return review


@transaction.atomic
def review_reject(
    *, review: Review, reviewer, findings: list[dict], rework_steps, answers: dict | None = None
) -> Review:
    """Reject with findings; the named steps go back to production and the gate reopens after them."""
    review = _lock_pending(review, reviewer)
    cleaned = []
    for finding in findings or []:
        text = (finding.get("text") or "").strip()
        severity = finding.get("severity")
        if severity not in Severity.values:
            raise ReviewInvalid(_("Give each finding a severity."), field="findings")
        if not text:
            raise ReviewInvalid(_("Describe each finding."), field="findings")
        if len(text) > NOTE_MAX:
            raise ReviewInvalid(
                ngettext(
                    "Keep each finding under %(max)d character.",
                    "Keep each finding under %(max)d characters.",
                    NOTE_MAX,
                )
                % {"max": NOTE_MAX},
                field="findings",
            )
        cleaned.append(Finding(review=review, severity=severity, text=text))
    if not cleaned:
        raise ReviewInvalid(_("Record at least one finding."), field="findings")
    # Steps may come as objects or ids; all must be steps of the stage under review.
    step_ids = {getattr(step, "pk", step) for step in rework_steps or []}
    steps = list(OrderStep.objects.filter(stage=review.stage, pk__in=step_ids))
    if not steps or len(steps) != len(step_ids):
        raise ReviewInvalid(_("Name the steps of this workshop to redo."), field="rework_steps")
    if answers:
        _record_answers(review, answers)
    Finding.objects.bulk_create(cleaned)
    review.status, review.decided_at, review.reviewer = ReviewStatus.REJECTED, clock.now(), reviewer
    review.save(update_fields=["status", "decided_at", "reviewer"])
    summary = "; ".join(f"[{finding.get_severity_display()}] {finding.text}" for finding in cleaned)
    order_services.stage_send_back(stage=review.stage, steps=steps, actor=reviewer, reason=summary[:NOTE_MAX])
    return review
