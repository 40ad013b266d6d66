"""After-sales: tickets on delivered orders, their SLA policies, thread, history and satisfaction ratings."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from factory import limits, submissions
from factory.dates import moment_words
from factory.db import text_search_index


class Category(models.TextChoices):
    DEFECT = "defect", _("Defect")
    CHANGE_REQUEST = "change_request", _("Change request")
    QUESTION = "question", pgettext_lazy("ticket category", "Question")
    COMPLAINT = "complaint", _("Complaint")


class Severity(models.TextChoices):
    LOW = "low", pgettext_lazy("severity", "Low")
    MEDIUM = "medium", pgettext_lazy("severity", "Medium")
    HIGH = "high", pgettext_lazy("severity", "High")
    CRITICAL = "critical", pgettext_lazy("severity", "Critical")


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_CLIENT = "waiting_client", _("Waiting for client")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses in which the factory still owes the client something: the SLA clocks run (or are paused).
ACTIVE_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CLIENT)
# Tickets whose resolution stands: resolved (the client may still reopen it) or closed for good.
RESOLVED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class SlaPolicy(models.Model):
    """How fast the factory answers and resolves a ticket of one severity; edited by admins."""

    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, unique=True)
    first_response_hours = models.DecimalField(_("first response within (hours)"), max_digits=7, decimal_places=2)
    resolution_hours = models.DecimalField(_("resolution within (hours)"), max_digits=7, decimal_places=2)
    # A ticket is "at risk" once less than this share of its window is left.
    at_risk_share = models.DecimalField(
        _("at risk when this share of the window is left"), max_digits=3, decimal_places=2, default=0.25
    )

    class Meta:
        ordering = ["resolution_hours"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_hours__gt=0) & Q(resolution_hours__gte=models.F("first_response_hours")),
                name="sla_windows_positive_and_ordered",
            ),
            models.CheckConstraint(
                condition=Q(at_risk_share__gt=0, at_risk_share__lt=1), name="sla_at_risk_share_between_0_and_1"
            ),
        ]

    def __str__(self):
        return f"{self.get_severity_display()}: {self.first_response_hours} h / {self.resolution_hours} h"


class Ticket(submissions.SubmittedOnce):
    """A client's request about a delivered order, with SLA due times from its severity's policy."""

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("order"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    status = models.CharField(_("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN)
    subject = models.CharField(_("subject"), max_length=limits.TITLE_MAX)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(_("opened at"))
    first_response_due = models.DateTimeField(_("first response due"))
    resolution_due = models.DateTimeField(_("resolution due"))
    first_responded_at = models.DateTimeField(_("first responded at"), null=True, blank=True)
    # While the factory waits for the client the resolution clock stops; the wait is added to resolution_due.
    paused_at = models.DateTimeField(_("SLA paused at"), null=True, blank=True)
    paused_total = models.DurationField(_("SLA paused in total"), default=timedelta(0))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    at_risk = models.BooleanField(_("SLA at risk"), default=False)
    breached = models.BooleanField(_("SLA breached"), default=False)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    follow_up_order = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="source_ticket",
        verbose_name=_("follow-up order"),
    )
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.TextField(_("rating comment"), max_length=limits.NOTE_MAX, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="ticket_rating_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(breached=False, breached_at__isnull=True) | Q(breached=True, breached_at__isnull=False),
                name="ticket_breached_iff_breached_at",
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(RESOLVED_STATUSES), resolved_at__isnull=False)
                | ~Q(status__in=list(RESOLVED_STATUSES)),
                name="ticket_resolved_has_resolved_at",
            ),
            models.CheckConstraint(
                condition=Q(paused_at__isnull=True) | Q(status="waiting_client"), name="ticket_paused_only_waiting"
            ),
            models.UniqueConstraint(fields=["opened_by", "submission_key"], name="ticket_opened_once_per_submission"),
        ]
        indexes = [
            models.Index(fields=["status", "resolution_due"], name="ticket_queue"),
            models.Index(fields=["order", "opened_at"], name="ticket_order"),
            text_search_index("reference", name="ticket_reference_search"),
            text_search_index("subject", name="ticket_subject_search"),
        ]

    def __str__(self):
        return f"{self.reference} {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class TicketMessage(submissions.SubmittedOnce):
    """One message of a ticket's thread. Internal notes are for staff; clients never see them."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_staff = models.BooleanField(_("from factory staff"))
    internal = models.BooleanField(_("internal note"), default=False)
    body = models.TextField(_("message"), max_length=limits.MESSAGE_MAX)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        constraints = [
            models.CheckConstraint(
                condition=Q(internal=False) | Q(from_staff=True), name="message_internal_from_staff"
            ),
            models.UniqueConstraint(fields=["author", "submission_key"], name="message_sent_once_per_submission"),
        ]
        indexes = [models.Index(fields=["ticket", "at"], name="message_ticket_at")]

    def __str__(self):
        return f"{self.ticket_id} @ {moment_words(self.at)}"


class TicketEventKind(models.TextChoices):
    OPENED = "opened", _("Ticket opened")
    STATUS_CHANGED = "status_changed", _("Status changed")
    SEVERITY_CHANGED = "severity_changed", _("Severity changed")
    FIRST_RESPONSE = "first_response", _("First response")
    AT_RISK = "at_risk", _("SLA at risk")
    BREACHED = "breached", _("SLA breached")
    FOLLOW_UP_ORDER = "follow_up_order", _("Follow-up order placed")
    RATED = "rated", _("Rated")


class TicketEvent(models.Model):
    """One entry of a ticket's history: who did what and when (null actor: the SLA watch)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket"))
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TicketEventKind.choices)
    from_value = models.CharField(_("from"), max_length=20, blank=True)
    to_value = models.CharField(_("to"), max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_at")]

    def __str__(self):
        return f"{self.ticket_id} {self.kind} @ {moment_words(self.at)}"


class TicketReferenceCounter(models.Model):
    """The last ticket number used in a year, for TK-YYYY-NNNNN references without clashes."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"
