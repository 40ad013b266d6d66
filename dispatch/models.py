"""Compute pools, the jobs placed on them, and their history.

Compute is simulated: pools, background load and job progress are computed by the dispatch tick
(dispatch.services.dispatch_tick) behind the same records a real telemetry/scheduler feed would fill.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import PoolKind
from factory import limits, submissions
from factory.dates import moment_words
from orders.models import IN_FLIGHT_STATUSES


class Executor(models.TextChoices):
    """What carries out the dispatch planner's decisions on a site's pools (dispatch.executors)."""

    SIMULATED = "simulated", _("Simulated")
    SLURM = "slurm", _("Slurm cluster")


class Connection(models.TextChoices):
    """Whether a real cluster answered the last time the dispatch tick asked it."""

    UP = "up", _("Answering")
    DOWN = "down", _("Not answering")


class ComputeSite(models.Model):
    """A computing center of the provincial platform; it reports more capacity than it lends us."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    city = models.CharField(_("city"), max_length=80)
    in_province = models.BooleanField(_("in province"))
    monitored_pflops = models.DecimalField(_("monitored capacity (PFLOPS)"), max_digits=10, decimal_places=2)
    executor = models.CharField(
        _("executor"),
        max_length=10,
        choices=Executor.choices,
        default=Executor.SIMULATED,
        help_text=_("What runs the jobs the dispatch center places on this site's pools."),
    )
    # Its address and credentials are in the SLURM_CLUSTERS setting under this name, never in the database.
    cluster = models.CharField(
        _("cluster"),
        max_length=60,
        blank=True,
        help_text=_("For a Slurm site: the cluster's name in the SLURM_CLUSTERS setting."),
    )
    connection = models.CharField(_("connection"), max_length=10, choices=Connection.choices, blank=True)
    connection_checked_at = models.DateTimeField(_("connection checked at"), null=True, blank=True)
    connection_error = models.TextField(_("connection error"), blank=True)

    class Meta:
        ordering = ["-in_province", "name"]
        verbose_name = _("compute site")
        verbose_name_plural = _("compute sites")
        constraints = [
            models.CheckConstraint(
                condition=Q(executor="simulated", cluster="") | (Q(executor="slurm") & ~Q(cluster="")),
                name="site_cluster_named_iff_slurm",
            ),
        ]

    def __str__(self):
        return self.name


class PoolState(models.TextChoices):
    ACTIVE = "active", _("Active")
    DRAINING = "draining", _("Draining")
    OFFLINE = "offline", _("Offline")


class ComputePool(models.Model):
    site = models.ForeignKey(ComputeSite, on_delete=models.PROTECT, related_name="pools", verbose_name=_("site"))
    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=PoolKind.choices)
    trusted = models.BooleanField(
        _("trusted"), default=False, help_text=_("May process sensitive data (when also in province).")
    )
    capacity_pflops = models.DecimalField(_("dispatchable capacity (PFLOPS)"), max_digits=10, decimal_places=2)
    used_pflops = models.DecimalField(_("used by our jobs (PFLOPS)"), max_digits=10, decimal_places=2, default=0)
    background_pflops = models.DecimalField(_("background load (PFLOPS)"), max_digits=10, decimal_places=2, default=0)
    state = models.CharField(_("state"), max_length=10, choices=PoolState.choices, default=PoolState.ACTIVE)
    price_per_pflops_hour = models.DecimalField(_("price (CNY per PFLOPS·h)"), max_digits=8, decimal_places=2)
    # Seeds the simulated load of other tenants, so each pool has its own smooth, repeatable curve.
    background_seed = models.PositiveIntegerField(_("background seed"), default=0)
    # On a Slurm site: the partition this pool is, and what one of its allocation units (a CPU here, a GPU at a
    # real center) is worth in PFLOPS; a job's demand is asked of Slurm in those units.
    partition = models.CharField(
        _("Slurm partition"), max_length=60, blank=True, help_text=_("Blank: the partition has the pool's name.")
    )
    pflops_per_unit = models.DecimalField(_("PFLOPS per CPU or GPU"), max_digits=8, decimal_places=3, default=1)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("compute pool")
        verbose_name_plural = _("compute pools")
        constraints = [
            models.CheckConstraint(condition=Q(capacity_pflops__gt=0), name="pool_capacity_positive"),
            models.CheckConstraint(condition=Q(pflops_per_unit__gt=0), name="pool_unit_worth_something"),
            models.CheckConstraint(
                condition=Q(used_pflops__gte=0, used_pflops__lte=F("capacity_pflops")),
                name="pool_used_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(background_pflops__gte=0)
                & Q(background_pflops__lte=F("capacity_pflops") - F("used_pflops")),
                name="pool_background_within_room",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def in_province(self) -> bool:
        return self.site.in_province

    @property
    def free_pflops(self) -> Decimal:
        if self.state != PoolState.ACTIVE:
            return Decimal(0)
        return max(self.capacity_pflops - self.used_pflops - self.background_pflops, Decimal(0))


class PoolStateChange(models.Model):
    pool = models.ForeignKey(
        ComputePool, on_delete=models.CASCADE, related_name="state_changes", verbose_name=_("pool")
    )
    at = models.DateTimeField(_("at"))
    from_state = models.CharField(_("from"), max_length=10, choices=PoolState.choices)
    to_state = models.CharField(_("to"), max_length=10, choices=PoolState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("actor")
    )
    reason = models.TextField(_("reason"), max_length=limits.NOTE_MAX)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("pool state change")
        verbose_name_plural = _("pool state changes")

    def __str__(self):
        return f"{self.pool} {self.from_state}→{self.to_state}"


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    PREEMPTED = "preempted", _("Preempted")
    DONE = "done", _("Done")


# A job waiting for a pool (queued, or preempted with its progress kept); and one not done yet.
WAITING_STATES = (JobState.QUEUED, JobState.PREEMPTED)
ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING, JobState.PREEMPTED)


class Job(models.Model):
    """One order step's compute. Queued → running → done; a preempted job keeps its progress."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="jobs", verbose_name=_("order"))
    step = models.ForeignKey("orders.OrderStep", on_delete=models.CASCADE, related_name="jobs", verbose_name=_("step"))
    pool = models.ForeignKey(
        ComputePool, on_delete=models.PROTECT, null=True, blank=True, related_name="jobs", verbose_name=_("pool")
    )
    # Where it last ran, kept after it finishes: the compliance record of sensitive orders needs it.
    last_pool = models.ForeignKey(
        ComputePool, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("last pool")
    )
    state = models.CharField(_("state"), max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    priority = models.CharField(_("priority"), max_length=10)
    kind = models.CharField(_("pool kind"), max_length=20, choices=PoolKind.choices)
    sensitive = models.BooleanField(_("sensitive data"), default=False)
    demand_pflops = models.DecimalField(_("demand (PFLOPS)"), max_digits=8, decimal_places=2)
    work_pflops_hours = models.DecimalField(_("work (PFLOPS·h)"), max_digits=12, decimal_places=2)
    done_pflops_hours = models.DecimalField(_("done (PFLOPS·h)"), max_digits=12, decimal_places=3, default=0)
    cost = models.DecimalField(_("cost (CNY)"), max_digits=14, decimal_places=2, default=0)
    deadline = models.DateTimeField(_("deadline"))
    queued_at = models.DateTimeField(_("queued at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    pending_reason = models.CharField(_("why it waits"), max_length=30, blank=True)
    backfilled = models.BooleanField(
        _("backfilled"),
        default=False,
        db_default=False,  # bulk loads (scale_data's COPY) leave it out
        help_text=_("It started ahead of a waiting job without delaying it."),
    )
    expected_start = models.DateTimeField(_("expected start"), null=True, blank=True)
    # On a Slurm site: the cluster's id of the batch job running it, and how many times a run of it was lost (a
    # failed job, a lost node) and it was queued again.
    cluster_job_id = models.BigIntegerField(_("Slurm job id"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("runs lost"), default=0, db_default=0)

    class Meta:
        ordering = ["queued_at", "id"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        constraints = [
            # A step has at most one job that is not done (a rework gets a new job later).
            models.UniqueConstraint(fields=["step"], condition=~Q(state="done"), name="job_one_active_per_step"),
            # Running means on exactly one pool; anything else means on none.
            models.CheckConstraint(
                condition=Q(state="running", pool__isnull=False) | (~Q(state="running") & Q(pool__isnull=True)),
                name="job_on_a_pool_iff_running",
            ),
            models.CheckConstraint(
                condition=Q(done_pflops_hours__gte=0, done_pflops_hours__lte=F("work_pflops_hours")),
                name="job_progress_within_work",
            ),
            models.CheckConstraint(condition=Q(demand_pflops__gt=0), name="job_demand_positive"),
        ]
        indexes = [
            models.Index(fields=["state"], name="job_waiting", condition=Q(state__in=["queued", "preempted"])),
            models.Index(fields=["pool"], name="job_running", condition=Q(state="running")),
            models.Index(fields=["order", "state"], name="job_order_state"),
            # A client's compute this month (each tick, the dispatch center): jobs queued since the 1st.
            models.Index(fields=["queued_at"], name="job_queued_at"),
        ]

    def __str__(self):
        return f"job {self.pk} ({self.state})"


class Preemption(models.Model):
    at = models.DateTimeField(_("at"))
    pool = models.ForeignKey(ComputePool, on_delete=models.PROTECT, related_name="+", verbose_name=_("pool"))
    preempted = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="preemptions_suffered", verbose_name=_("preempted job")
    )
    preempted_by = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="preemptions_caused", verbose_name=_("preempted by")
    )
    # {order id: hours its ETA slipped}, filled when the next ETA run sees the effect.
    eta_slips = models.JSONField(_("ETA slips (hours per order)"), default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("preemption")
        verbose_name_plural = _("preemptions")
        # The dispatch center's newest preemptions and its 24 h count. Without it, Postgres joined every job
        # and order before finding there was nothing to show (21 ms of the page at 1,000 orders).
        indexes = [models.Index(fields=["-at", "-id"], name="preemption_newest")]

    def __str__(self):
        return f"{self.preempted_by_id} preempted {self.preempted_id}"


class UtilizationSample(models.Model):
    """One pool's load at one tick: what charts of utilization over time are drawn from."""

    pool = models.ForeignKey(ComputePool, on_delete=models.CASCADE, related_name="samples", verbose_name=_("pool"))
    at = models.DateTimeField(_("at"))
    used_pflops = models.DecimalField(_("used (PFLOPS)"), max_digits=10, decimal_places=2)
    background_pflops = models.DecimalField(_("background load (PFLOPS)"), max_digits=10, decimal_places=2)
    capacity_pflops = models.DecimalField(_("capacity (PFLOPS)"), max_digits=10, decimal_places=2)
    queued_jobs = models.PositiveIntegerField(_("queued jobs"), default=0)
    # What our jobs on this pool were charged since the pool's previous sample: cost per day sums these.
    cost = models.DecimalField(_("cost (CNY)"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["at"]
        verbose_name = _("utilization sample")
        verbose_name_plural = _("utilization samples")
        indexes = [
            models.Index(fields=["pool", "at"], name="sample_pool_at"),
            models.Index(fields=["at"], name="sample_at"),
        ]

    def __str__(self):
        return f"{self.pool_id} @ {moment_words(self.at)}"


class DailyCost(models.Model):
    """What our jobs were charged on one day of the factory calendar: the cost chart reads 30 rows, not
    every utilization sample of 30 days. Each tick adds its charges (dispatch.services)."""

    day = models.DateField(_("day"), unique=True)
    cost = models.DecimalField(_("cost (CNY)"), max_digits=16, decimal_places=2, default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("daily compute cost")
        verbose_name_plural = _("daily compute costs")

    def __str__(self):
        return f"{self.day}: {self.cost}"


class QueueSample(models.Model):
    """The queue of one priority at one tick: how many jobs wait and how long they have waited."""

    at = models.DateTimeField(_("at"))
    priority = models.CharField(_("priority"), max_length=10)
    waiting_jobs = models.PositiveIntegerField(_("waiting jobs"))
    mean_wait_hours = models.FloatField(_("mean wait (h)"))
    longest_wait_hours = models.FloatField(_("longest wait (h)"))

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["at"], name="queue_sample_at")]

    def __str__(self):
        return f"{self.priority} @ {self.at}: {self.waiting_jobs}"


class ClientBudget(models.Model):
    """A client's monthly compute budget; past it, non-urgent work waits (when enforced)."""

    client = models.OneToOneField(
        "orders.ClientOrganization", on_delete=models.CASCADE, related_name="compute_budget", verbose_name=_("client")
    )
    monthly_pflops_hours = models.DecimalField(_("monthly budget (PFLOPS·h)"), max_digits=12, decimal_places=2)
    warn_at = models.DecimalField(
        _("warn at (share of budget)"), max_digits=3, decimal_places=2, default=Decimal("0.80")
    )
    enforce = models.BooleanField(_("refuse non-urgent work past the budget"), default=True)

    class Meta:
        verbose_name = _("client compute budget")
        verbose_name_plural = _("client compute budgets")
        constraints = [
            models.CheckConstraint(condition=Q(monthly_pflops_hours__gt=0), name="budget_positive"),
            models.CheckConstraint(condition=Q(warn_at__gt=0, warn_at__lte=1), name="budget_warn_share"),
        ]

    def __str__(self):
        return f"{self.client}: {self.monthly_pflops_hours} PFLOPS·h/month"


class ReservationKind(models.TextChoices):
    RESERVATION = "reservation", _("Reservation")
    MAINTENANCE = "maintenance", _("Maintenance window")


# The states a maintenance window may hold its pool in.
WINDOW_STATES = [
    (PoolState.OFFLINE.value, PoolState.OFFLINE.label),
    (PoolState.DRAINING.value, PoolState.DRAINING.label),
]


class _Span(Func):
    """[start, end) as a Postgres range, for the exclusion constraint below."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class PlannedAhead(submissions.SubmittedOnce):
    """What the dispatch role plans for a pool ahead of time (a booking, a scheduled change): why, who and when, and
    if it was cancelled, who, when and why. Never deleted, so the pool's history says what was planned."""

    reason = models.TextField(_("reason"), max_length=limits.NOTE_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    cancel_reason = models.TextField(_("why cancelled"), max_length=limits.NOTE_MAX, blank=True)
    # A scenario run whose pool changes this was made from (dispatch.services.scenario_promote).
    promoted_from = models.ForeignKey(
        "ScenarioRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("promoted from the scenario run"),
    )

    class Meta:
        abstract = True

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


class Reservation(PlannedAhead):
    """A pool's time booked ahead: `pflops` of it held for one client or one order (a reservation), or the whole
    pool closed for maintenance (a maintenance window).

    The planner holds a reservation's room for its owner from `start` to `end` and lets other work use it before
    only if that work ends by `start`; no work starts on a pool that it would still run on when a window begins,
    and the tick takes the pool offline for the window (its running jobs requeued with their progress) and brings
    it back at the end. The forecast, and so every ETA and quote, sees both. Never deleted: cancelled, with who,
    when and why, so the pool's history says what was planned.
    """

    kind = models.CharField(_("kind"), max_length=12, choices=ReservationKind.choices)
    pool = models.ForeignKey(ComputePool, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("pool"))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    pflops = models.DecimalField(_("held (PFLOPS)"), max_digits=10, decimal_places=2, null=True, blank=True)
    client = models.ForeignKey(
        "orders.ClientOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("client"),
    )
    # Held for this order's jobs alone; its client is `client`.
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    # A maintenance window as the tick carried it out: when the pool closed and reopened, and the state it had.
    began_at = models.DateTimeField(_("pool closed at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("pool reopened at"), null=True, blank=True)
    state_before = models.CharField(_("state before"), max_length=10, choices=PoolState.choices, blank=True)
    # What a maintenance window does to its pool: offline (running jobs requeued) or draining (they finish, nothing
    # new starts); a reservation leaves it blank.
    closes_to = models.CharField(
        _("pool during the window"), max_length=10, choices=WINDOW_STATES, default=PoolState.OFFLINE, blank=True
    )

    class Meta:
        ordering = ["start", "id"]
        verbose_name = _("reservation or maintenance window")
        verbose_name_plural = _("reservations and maintenance windows")
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="reservation_ends_after_start"),
            models.CheckConstraint(
                condition=Q(kind="reservation", pflops__gt=0, client__isnull=False, closes_to="")
                | Q(
                    kind="maintenance",
                    pflops__isnull=True,
                    client__isnull=True,
                    order__isnull=True,
                    closes_to__in=[state for state, _label in WINDOW_STATES],
                ),
                name="reservation_holds_room_for_a_client_window_closes_all",
            ),
            # A pool is closed by one window at a time; the sum of overlapping reservations is checked by the
            # service under the dispatch lock (a sum is beyond a constraint).
            ExclusionConstraint(
                name="maintenance_windows_of_a_pool_do_not_overlap",
                expressions=[
                    (_Span("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("pool", RangeOperators.EQUAL),
                ],
                condition=Q(kind="maintenance", cancelled_at__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["created_by", "submission_key"], name="reservation_booked_once_per_submission"
            ),
        ]
        indexes = [models.Index(fields=["pool", "end"], name="reservation_pool_end")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.pool} {moment_words(self.start)}\u2013{moment_words(self.end)}"


# A scheduled pool change still to come: neither carried out nor cancelled.
PENDING_POOL_CHANGE = Q(carried_out_at__isnull=True, cancelled_at__isnull=True)


class ScheduledPoolChange(PlannedAhead):
    """A pool's capacity and/or state set from a time on: more or less capacity from a date, or a new pool (made
    offline at once) coming online. The tick carries it out when its time comes; the forecast, and so every ETA and
    quote, sees it before. A capacity cut below what runs there requeues the pool's latest, least urgent jobs with
    their progress until it fits. Never deleted: cancelled with who, when and why, or carried out with what the
    pool had before."""

    pool = models.ForeignKey(
        ComputePool, on_delete=models.PROTECT, related_name="scheduled_changes", verbose_name=_("pool")
    )
    at = models.DateTimeField(_("from"))
    capacity_pflops = models.DecimalField(
        _("new capacity (PFLOPS)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    state = models.CharField(_("new state"), max_length=10, choices=PoolState.choices, blank=True)
    carried_out_at = models.DateTimeField(_("carried out at"), null=True, blank=True)
    capacity_before = models.DecimalField(
        _("capacity before (PFLOPS)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    state_before = models.CharField(_("state before"), max_length=10, choices=PoolState.choices, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("scheduled pool change")
        verbose_name_plural = _("scheduled pool changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity_pflops__gt=0) | Q(capacity_pflops__isnull=True, state__gt=""),
                name="scheduled_pool_change_changes_something",
            ),
            models.UniqueConstraint(
                fields=["created_by", "submission_key"], name="scheduled_pool_change_made_once_per_submission"
            ),
        ]
        indexes = [models.Index(fields=["carried_out_at", "at"], name="scheduled_pool_change_pending")]

    def __str__(self):
        return f"{self.pool} {moment_words(self.at)}"


# A booking that holds or closes its pool's time: a window, a client's reservation, or an order's while the order is
# in flight (room held for an order delivered or cancelled is open to any work again).
BOOKING_IN_EFFECT = Q(order__isnull=True) | Q(order__status__in=IN_FLIGHT_STATUSES)


class ClientEntitlement(models.Model):
    """A client's entitlement to a pool kind, as Kueue's nominal quota: its weight there for fair share
    (dispatch.engine.policy.fair_share_usage). Clients that both saturate the kind get it in proportion to their
    weights; a client alone may use all of it. A client without a row for a kind weighs
    dispatch.engine.policy.DEFAULT_ENTITLEMENT there."""

    client = models.ForeignKey(
        "orders.ClientOrganization", on_delete=models.CASCADE, related_name="entitlements", verbose_name=_("client")
    )
    kind = models.CharField(_("pool kind"), max_length=20, choices=PoolKind.choices)
    weight = models.DecimalField(_("entitlement (weight)"), max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["client", "kind"]
        verbose_name = _("client entitlement")
        verbose_name_plural = _("client entitlements")
        constraints = [
            models.UniqueConstraint(fields=["client", "kind"], name="entitlement_one_per_client_kind"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="entitlement_positive"),
        ]

    def __str__(self):
        return f"{self.client}: {self.kind} {self.weight}"


class DispatchState(models.Model):
    """The single row the tick locks and advances: when simulated compute was last brought up to date."""

    last_tick_at = models.DateTimeField(null=True, blank=True)
    ticks = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"tick {self.ticks} at {self.last_tick_at}"


# --- What-if scenarios -----------------------------------------------------------------------------------------

# How far ahead a scenario may look: a year, as far as the factory promises.
SCENARIO_HORIZON_DAYS_MAX = 365
# How many changes one scenario holds: a page of them, not a second factory.
SCENARIO_CHANGES_MAX = 50


class ChangeKind(models.TextChoices):
    """What a scenario may change about the present factory (dispatch.scenario_changes checks each)."""

    POOL_CAPACITY = "pool_capacity", _("A pool's capacity changes")
    NEW_POOL = "new_pool", _("A new pool at a site")
    POOL_OFFLINE = "pool_offline", _("A pool offline for a while")
    POOL_DRAINING = "pool_draining", _("A pool draining for a while")
    BACKGROUND = "background", _("Extra background load for a while")
    ORDERS = "orders", _("Orders that may come")
    ARRIVAL_RATE = "arrival_rate", _("More or fewer orders arriving for a while")
    POLICY = "policy", _("A dispatch policy parameter")


class Scenario(submissions.SubmittedOnce):
    """The present factory plus a list of changes, to see what they would do to every promise before making them.

    Its changes stay editable until it is archived; each run keeps the changes it ran with, so a result always
    says what it assumed. Scenarios are never deleted, only archived: their results are the record of a decision.
    """

    name = models.CharField(_("name"), max_length=limits.NAME_MAX)
    description = models.TextField(_("description"), max_length=limits.NOTE_MAX, blank=True)
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"))
    # [{"kind": ChangeKind, ...its fields}], as dispatch.scenario_changes.clean_change leaves them.
    changes = models.JSONField(_("changes"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"))
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")
        constraints = [
            models.CheckConstraint(
                condition=Q(horizon_days__gte=1, horizon_days__lte=SCENARIO_HORIZON_DAYS_MAX),
                name="scenario_horizon_within_a_year",
            ),
            models.UniqueConstraint(fields=["created_by", "submission_key"], name="scenario_made_once_per_submission"),
        ]

    def __str__(self):
        return self.name

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class RunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


# A run not finished yet: each person has at most one (a database constraint below).
RUN_GOING_STATES = (RunState.QUEUED, RunState.RUNNING)


class ScenarioRun(models.Model):
    """One simulation of a scenario against the baseline (the same factory without its changes), from the moment
    it ran. Its result is kept: per order the ETA with and without the changes, and the factory's figures."""

    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="runs", verbose_name=_("scenario"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    state = models.CharField(_("state"), max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    # The scenario's changes and horizon as they were when the run was asked for.
    changes = models.JSONField(_("changes"), default=list)
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"))
    progress = models.FloatField(_("progress"), default=0.0)
    queued_at = models.DateTimeField(_("queued at"))
    # The factory's moment the simulation started from.
    simulated_from = models.DateTimeField(_("simulated from"), null=True, blank=True)
    # Real time, not the factory clock: a worker that stopped is told by its silence (dispatch.services).
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds to run"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # dispatch.scenarios.ScenarioResult as JSON: {} until the run is done.
    result = models.JSONField(_("result"), default=dict, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = _("scenario run")
        verbose_name_plural = _("scenario runs")
        constraints = [
            models.UniqueConstraint(
                fields=["started_by"], condition=Q(state__in=["queued", "running"]), name="scenario_one_run_per_person"
            ),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="scenario_run_progress_share"),
        ]
        indexes = [models.Index(fields=["scenario", "-queued_at"], name="scenario_run_newest")]

    def __str__(self):
        return f"{self.scenario} @ {moment_words(self.queued_at)} ({self.state})"

    @property
    def going(self) -> bool:
        return self.state in RUN_GOING_STATES

    @property
    def result_when_done(self) -> dict | None:
        return self.result if self.state == RunState.DONE else None
