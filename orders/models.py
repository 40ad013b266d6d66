import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import PoolKind, ProductType, Sector, Size, Workshop
from factory import limits, submissions
from factory.dates import moment_words
from factory.db import text_search_index


class ClientOrganization(models.Model):
    """A client of the factory: a hospital, bureau, bank, manufacturer or school."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    contact_email = models.EmailField(_("contact email"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("client organization")
        verbose_name_plural = _("client organizations")
        indexes = [text_search_index("name", name="client_name_search")]

    def __str__(self):
        return self.name


class ClientMembership(models.Model):
    """Makes a user a client user of exactly one organization (the one-to-one enforces it)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="client_membership",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        ClientOrganization, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("organization")
    )

    class Meta:
        verbose_name = _("client user")
        verbose_name_plural = _("client users")

    def __str__(self):
        return f"{self.user} @ {self.organization}"


class DataSensitivity(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")
    SENSITIVE = "sensitive", _("Sensitive")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class OrderStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    IN_PRODUCTION = "in_production", _("In production")
    AWAITING_REVIEW = "awaiting_review", _("Awaiting review")
    READY = "ready", _("Ready for delivery")
    DELIVERED = "delivered", _("Delivered")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


# Orders still moving through the factory (not yet handed over, not stopped); operations may cancel them.
ACTIVE_STATUSES = (
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.IN_PRODUCTION,
    OrderStatus.AWAITING_REVIEW,
    OrderStatus.READY,
)
# Orders the factory is working on: accepted, not yet ready (what the forecast simulates, what changes may reach).
IN_FLIGHT_STATUSES = (OrderStatus.ACCEPTED, OrderStatus.IN_PRODUCTION, OrderStatus.AWAITING_REVIEW)
# Orders handed over to the client (after-sales and delivery figures start here).
HANDED_OVER_STATUSES = (OrderStatus.DELIVERED, OrderStatus.CLOSED)
# Orders whose requirements and priority may still change: submitted, or in the factory's work and not yet ready.
CHANGEABLE_STATUSES = (OrderStatus.SUBMITTED, *IN_FLIGHT_STATUSES)
# Orders that stopped without a delivery.
STOPPED_STATUSES = (OrderStatus.REJECTED, OrderStatus.CANCELLED)


def new_tracking_token() -> str:
    return secrets.token_urlsafe(24)


class Order(submissions.SubmittedOnce):
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    client = models.ForeignKey(
        ClientOrganization, on_delete=models.PROTECT, related_name="orders", verbose_name=_("client")
    )
    title = models.CharField(_("title"), max_length=limits.TITLE_MAX)
    product_type = models.CharField(_("product type"), max_length=20, choices=ProductType.choices)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    requirements = models.TextField(_("requirements"), max_length=limits.REQUIREMENTS_MAX, blank=True)
    data_sensitivity = models.CharField(_("data sensitivity"), max_length=20, choices=DataSensitivity.choices)
    size = models.CharField(_("size"), max_length=10, choices=Size.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    requested_delivery = models.DateField(_("requested delivery"))
    promised_delivery = models.DateField(_("promised delivery"), null=True, blank=True)
    # The estimate quoted with the promise when the order was placed (orders.quotes), as the client saw it.
    quoted_compute_pflops_hours = models.DecimalField(
        _("quoted compute (PFLOPS·h)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    quoted_cost = models.DecimalField(_("quoted cost (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True)
    eta = models.DateTimeField(_("ETA"), null=True, blank=True)
    # The expected delivery the client was last told of by a notice (else its promise): a later ETA by more than
    # ETA_SLIP_NOTICE_HOURS tells it again (orders.services.orders_set_eta). An earlier ETA becomes the mark.
    eta_told = models.DateTimeField(_("ETA last told"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.SUBMITTED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    current_workshop = models.CharField(
        _("current workshop"), max_length=20, choices=Workshop.choices, blank=True, default=""
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("placed by"),
    )
    parent_order = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_up_orders",
        verbose_name=_("parent order"),
    )
    created_at = models.DateTimeField(_("created at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.TextField(_("rating comment"), max_length=limits.NOTE_MAX, blank=True)
    compute_pflops_hours = models.DecimalField(
        _("compute used (PFLOPS·h)"), max_digits=14, decimal_places=2, default=Decimal(0)
    )
    compute_cost = models.DecimalField(_("compute cost (CNY)"), max_digits=14, decimal_places=2, default=Decimal(0))
    # Null when the client revoked the tracking link; a new one can be issued.
    tracking_token = models.CharField(
        _("tracking token"), max_length=64, unique=True, null=True, blank=True, default=new_tracking_token
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="order_rating_1_to_5"
            ),
            models.UniqueConstraint(fields=["placed_by", "submission_key"], name="order_placed_once_per_submission"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="order_progress_at_most_100"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_known"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            models.Index(fields=["client", "-created_at"], name="order_client_created"),
            # The order list and the API list every order newest first, a page at a time.
            models.Index(fields=["-created_at"], name="order_created"),
            text_search_index("reference", name="order_reference_search"),
            text_search_index("title", name="order_title_search"),
        ]

    def __str__(self):
        return f"{self.reference} · {self.title}"

    @property
    def is_sensitive(self) -> bool:
        return self.data_sensitivity == DataSensitivity.SENSITIVE

    @property
    def is_overdue(self) -> bool:
        """Late against the promised date (or the requested one before a promise exists)."""
        from factory import clock

        due = self.promised_delivery or self.requested_delivery
        if self.status in HANDED_OVER_STATUSES:
            return self.delivered_at is not None and self.delivered_at.date() > due
        if self.status in ACTIVE_STATUSES:
            reference = self.eta.date() if self.eta else clock.now().date()
            return max(reference, clock.now().date()) > due
        return False


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_REVIEW = "awaiting_review", _("Awaiting review")
    REWORK = "rework", _("Rework")
    APPROVED = "approved", _("Approved")


# Stages of the workshop in production: its steps run, or it waits at its gate, or redoes steps the gate sent back.
OPEN_STAGE_STATUSES = (StageStatus.IN_PROGRESS, StageStatus.AWAITING_REVIEW, StageStatus.REWORK)


class OrderStage(models.Model):
    """One workshop of an order's routing. Its exit is the workshop's security gate."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="stages", verbose_name=_("order"))
    workshop = models.CharField(_("workshop"), max_length=20, choices=Workshop.choices)
    position = models.PositiveSmallIntegerField(_("position"))
    status = models.CharField(_("status"), max_length=20, choices=StageStatus.choices, default=StageStatus.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    steps_total = models.PositiveSmallIntegerField(_("steps"), default=0)
    steps_done = models.PositiveSmallIntegerField(_("steps done"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Counts gate passages: a review belongs to one passage, a rejection starts the next.
    gate_passage = models.PositiveSmallIntegerField(_("gate passage"), default=0)
    # What the workshop's jobs used and were charged so far, reworked steps included (the order's figures sum these).
    # Defaults in the database too: the scale data writes stages with COPY, then sums its jobs in one statement.
    compute_pflops_hours = models.DecimalField(
        _("compute used (PFLOPS·h)"), max_digits=14, decimal_places=2, default=Decimal(0), db_default=Decimal(0)
    )
    compute_cost = models.DecimalField(
        _("compute cost (CNY)"), max_digits=14, decimal_places=2, default=Decimal(0), db_default=Decimal(0)
    )

    class Meta:
        ordering = ["order", "position"]
        verbose_name = _("order stage")
        verbose_name_plural = _("order stages")
        constraints = [
            models.UniqueConstraint(fields=["order", "workshop"], name="stage_unique_workshop"),
            models.UniqueConstraint(fields=["order", "position"], name="stage_unique_position"),
            models.CheckConstraint(condition=Q(steps_done__lte=models.F("steps_total")), name="stage_done_le_total"),
        ]
        indexes = [models.Index(fields=["status"], name="stage_status")]

    def __str__(self):
        return f"{self.order.reference} · {self.get_workshop_display()}"


class StepStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    READY = "ready", _("Ready")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


# A step that holds or waits for compute: the one of its stage that may finish.
WORKING_STEP_STATUSES = (StepStatus.READY, StepStatus.RUNNING)


class OrderStep(models.Model):
    """A catalog step instantiated for an order: its compute and duration scaled by the order's size."""

    stage = models.ForeignKey(OrderStage, on_delete=models.CASCADE, related_name="steps", verbose_name=_("stage"))
    catalog_step = models.ForeignKey(
        "catalog.ProcessStep",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("catalog step"),
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("Chinese name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("position"))
    pool_kind = models.CharField(_("pool kind"), max_length=20, choices=PoolKind.choices)
    demand_pflops = models.DecimalField(_("compute demand (PFLOPS)"), max_digits=8, decimal_places=2)
    work_pflops_hours = models.DecimalField(_("compute work (PFLOPS·h)"), max_digits=12, decimal_places=2)
    nominal_hours = models.DecimalField(_("nominal duration (h)"), max_digits=8, decimal_places=2)
    status = models.CharField(_("status"), max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING)
    rework_count = models.PositiveSmallIntegerField(_("rework count"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("finished by"),
    )

    class Meta:
        ordering = ["stage", "position"]
        verbose_name = _("order step")
        verbose_name_plural = _("order steps")
        constraints = [models.UniqueConstraint(fields=["stage", "position"], name="step_unique_position")]
        indexes = [
            # The dispatcher looks for steps that became ready.
            models.Index(fields=["status"], name="step_ready", condition=Q(status="ready")),
        ]

    def __str__(self):
        return f"{self.code} ({self.get_status_display()})"

    @property
    def display_name(self):
        from django.utils.translation import get_language

        return self.name_zh if (get_language() or "").startswith("zh") else self.name


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("Order placed")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    PRODUCTION_STARTED = "production_started", _("Production started")
    STAGE_STARTED = "stage_started", _("Workshop started")
    STEP_STARTED = "step_started", _("Step started")
    STEP_FINISHED = "step_finished", _("Step finished")
    STAGE_DONE = "stage_done", _("Workshop done, gate awaiting review")
    GATE_RELEASED = "gate_released", _("Security gate passed")
    REWORK = "rework", _("Sent back to rework")
    REVIEW_DECISION = "review_decision", _("Security review decision")
    READY = "ready", _("Ready for delivery")
    DELIVERED = "delivered", _("Delivered")
    CONFIRMED = "confirmed", _("Delivery confirmed")
    RATED = "rated", _("Rated")
    REQUIREMENT_CHANGE = "requirement_change", _("Requirement change")
    PRIORITY_CHANGED = "priority_changed", _("Priority changed")
    ETA_CHANGED = "eta_changed", _("ETA changed")
    TRACKING_LINK = "tracking_link", _("Tracking link changed")
    NOTE = "note", _("Note")


class OrderEvent(models.Model):
    """One entry of an order's timeline: who did what, when, from which status to which, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    kind = models.CharField(_("kind"), max_length=30, choices=EventKind.choices)
    from_status = models.CharField(_("from status"), max_length=20, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, blank=True)
    workshop = models.CharField(_("workshop"), max_length=20, choices=Workshop.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    # Internal events (and their notes) are for staff; clients never see them.
    internal = models.BooleanField(_("internal"), default=False)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        indexes = [models.Index(fields=["order", "at"], name="event_order_at")]

    def __str__(self):
        return f"{self.order_id} {self.kind} @ {moment_words(self.at)}"


class RequirementChange(models.Model):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="requirement_changes", verbose_name=_("order")
    )
    text = models.TextField(_("change"), max_length=limits.MESSAGE_MAX)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    rework_steps = models.ManyToManyField(OrderStep, blank=True, related_name="+", verbose_name=_("rework steps"))

    class Meta:
        ordering = ["recorded_at"]
        verbose_name = _("requirement change")
        verbose_name_plural = _("requirement changes")

    def __str__(self):
        return f"{self.order_id} @ {moment_words(self.recorded_at)}"


class ArtifactKind(models.TextChoices):
    DATASET = "dataset", _("Dataset")
    MODEL = "model", _("Model")
    AGENT = "agent", _("Agent")
    APPLICATION = "application", _("Application")


# The deliverable each workshop produces when its gate is passed.
WORKSHOP_ARTIFACT = {
    Workshop.DATA: ArtifactKind.DATASET,
    Workshop.MODEL: ArtifactKind.MODEL,
    Workshop.AGENT: ArtifactKind.AGENT,
    Workshop.INTEGRATION: ArtifactKind.APPLICATION,
}


class Artifact(models.Model):
    """A versioned deliverable of a stage, linked to what it was built from (its lineage)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="artifacts", verbose_name=_("order"))
    stage = models.ForeignKey(OrderStage, on_delete=models.CASCADE, related_name="artifacts", verbose_name=_("stage"))
    kind = models.CharField(_("kind"), max_length=20, choices=ArtifactKind.choices)
    name = models.CharField(_("name"), max_length=200)
    version = models.CharField(_("version"), max_length=20)
    size_bytes = models.BigIntegerField(_("size (bytes)"))
    checksum = models.CharField(_("checksum (SHA-256)"), max_length=64)
    produced_at = models.DateTimeField(_("produced at"))
    built_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("built from")
    )

    class Meta:
        ordering = ["produced_at", "id"]
        verbose_name = _("artifact")
        verbose_name_plural = _("artifacts")
        constraints = [models.UniqueConstraint(fields=["order", "kind", "version"], name="artifact_unique_version")]

    def __str__(self):
        return f"{self.name} {self.version}"

    def lineage(self) -> list["Artifact"]:
        """This artifact and what it was built from, newest first (application → agent → model → dataset)."""
        chain, current = [], self
        while current is not None:
            chain.append(current)
            current = current.built_from
        return chain


class ReferenceCounter(models.Model):
    """The last order number used in a year, for AF-YYYY-NNNNN references without gaps or clashes."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"
