"""Security gates: a review at every workshop exit, with its checklist, findings and approvals."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from catalog.models import Workshop
from factory import limits


class ChecklistItem(models.Model):
    """One question of a workshop gate's checklist template, edited by admins."""

    workshop = models.CharField(_("workshop"), max_length=20, choices=Workshop.choices)
    position = models.PositiveSmallIntegerField(_("position"))
    text = models.CharField(_("question"), max_length=300)
    text_zh = models.CharField(_("Chinese question"), max_length=300)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["workshop", "position"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [models.UniqueConstraint(fields=["workshop", "position"], name="checklist_unique_position")]

    def __str__(self):
        return f"{self.workshop} {self.position}: {self.text}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


# Reviews with a decision (the review history); a pending review waits in the queue.
DECIDED_STATUSES = (ReviewStatus.APPROVED, ReviewStatus.REJECTED)


class Review(models.Model):
    """The security review of one passage of an order's gate (a rejection's rework makes the next passage)."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="reviews", verbose_name=_("order"))
    stage = models.ForeignKey(
        "orders.OrderStage", on_delete=models.PROTECT, related_name="reviews", verbose_name=_("stage")
    )
    workshop = models.CharField(_("workshop"), max_length=20, choices=Workshop.choices)
    gate_passage = models.PositiveSmallIntegerField(_("gate passage"))
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    sensitive = models.BooleanField(_("sensitive data"), default=False)
    approvals_required = models.PositiveSmallIntegerField(_("approvals required"), default=1)
    opened_at = models.DateTimeField(_("opened at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deciding reviewer"),
    )

    class Meta:
        ordering = ["opened_at", "id"]
        verbose_name = _("security review")
        verbose_name_plural = _("security reviews")
        constraints = [
            # Opening is idempotent: one review per passage of a gate.
            models.UniqueConstraint(fields=["stage", "gate_passage"], name="review_one_per_gate_passage"),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="review_decided_iff_not_pending",
            ),
        ]
        indexes = [models.Index(fields=["status", "opened_at"], name="review_queue")]

    def __str__(self):
        return f"{self.order} · {self.get_workshop_display()} #{self.gate_passage + 1}"


class ReviewAnswer(models.Model):
    """A checklist question as it stood when the review opened, and the reviewer's answer."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="answers")
    position = models.PositiveSmallIntegerField(_("position"))
    item = models.CharField(_("question"), max_length=300)
    item_zh = models.CharField(_("Chinese question"), max_length=300)
    passed = models.BooleanField(_("passed"), null=True, blank=True)
    note = models.TextField(_("note"), max_length=limits.NOTE_MAX, blank=True)

    class Meta:
        ordering = ["review", "position"]
        constraints = [models.UniqueConstraint(fields=["review", "position"], name="answer_unique_position")]

    def __str__(self):
        return f"{self.review_id}/{self.position}: {self.passed}"

    @property
    def display_item(self):
        return self.item_zh if (get_language() or "").startswith("zh") else self.item


class Approval(models.Model):
    """One reviewer's approval; sensitive orders need two, by two different reviewers (four eyes)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="approvals")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["review", "reviewer"], name="approval_once_per_reviewer")]

    def __str__(self):
        return f"{self.review_id} approved by {self.reviewer_id}"


class Severity(models.TextChoices):
    LOW = "low", pgettext_lazy("severity", "Low")
    MEDIUM = "medium", pgettext_lazy("severity", "Medium")
    HIGH = "high", pgettext_lazy("severity", "High")
    CRITICAL = "critical", pgettext_lazy("severity", "Critical")


class Finding(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="findings", verbose_name=_("review"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    text = models.TextField(_("finding"), max_length=limits.NOTE_MAX)

    class Meta:
        ordering = ["review", "id"]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")

    def __str__(self):
        return f"{self.severity}: {self.text[:40]}"
