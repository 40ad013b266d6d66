"""Throughput against the plan (`/plan/`): vertical models delivered against the factory's yearly target and where
the year ends at the recent rate; where work waits (work in progress and queue times per workshop and per pool kind,
the bottleneck named); how often gates send work back; how satisfied clients are, month by month.

Reads only. Everything is aggregated in Postgres in a fixed number of queries, whatever the length of the history.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    DurationField,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from aftersales.models import Ticket
from catalog.models import PoolKind, Workshop
from dispatch.models import ACTIVE_STATES, WAITING_STATES, Job, JobState
from factory import charts, roles
from orders.display import duration_words
from orders.models import (
    HANDED_OVER_STATUSES,
    IN_FLIGHT_STATUSES,
    OPEN_STAGE_STATUSES,
    Order,
    OrderStage,
    OrderStep,
    RequirementChange,
    StageStatus,
)
from security.models import DECIDED_STATUSES, Review, ReviewStatus

# Operations answer for the year's deliveries; dispatch moves the compute to where work waits. Security and
# after-sales have their own queues (as on the dispatch center, which refuses them too).
PLAN_ROLES = (roles.OPERATIONS, roles.DISPATCH)

YEAR = timedelta(days=365)
# The daily rate projected to the year's end: the deliveries of the last 90 days, the window of the operations
# center's on-time rate and lead times. A month swings with a few large orders finishing together; a whole year
# would still carry the capacity of last spring.
RATE_WINDOW = timedelta(days=90)
# Queue and gate waits: what was queued (or came to a gate) in the last 30 days, and everything waiting now. Long
# enough to hold jobs of every workshop, short enough that the bottleneck named is today's.
WAIT_WINDOW = timedelta(days=30)
# The shortest wait that names a bottleneck: durations are written to the minute, and "waited 0 min" names none.
NOTABLE_WAIT = timedelta(minutes=1)
SATISFACTION_MONTHS = 12


def vertical_models_delivered():
    """Orders handed over (delivered or closed) that made a vertical model: those whose routing passes through the
    model workshop, so a model, an agent and an application order each carry one.

    Read from the order's own stages, its routing as instantiated when it was accepted (a later edit of the catalog's
    routings changes no past order). An order has one stage per workshop (stage_unique_workshop), so the join counts
    each order once."""
    return Order.objects.filter(status__in=HANDED_OVER_STATUSES, stages__workshop=Workshop.MODEL)


# --- Vertical models against the yearly target -------------------------------------------------------------------


@dataclass(frozen=True)
class Course:
    """Vertical models delivered against the yearly target, and where the factory's calendar year ends at the recent
    daily rate: delivered so far this year + the rate of the last RATE_WINDOW * the days left."""

    now: datetime
    target: int
    last_365_days: int
    this_year: int
    recent: int  # delivered in the last RATE_WINDOW
    year_start: datetime  # factory time (TIME_ZONE)
    year_end: datetime  # the first instant of next year

    @property
    def year(self) -> int:
        return self.year_start.year

    @property
    def daily_rate(self) -> float:
        return self.recent / RATE_WINDOW.days

    @property
    def days_left(self) -> float:
        return (self.year_end - self.now) / timedelta(days=1)

    @property
    def projection_exact(self) -> float:
        return self.this_year + self.daily_rate * self.days_left

    @property
    def projection(self) -> int:
        return round(self.projection_exact)

    @property
    def on_course(self) -> bool:
        return self.projection >= self.target

    @property
    def tone(self) -> str:
        return "green" if self.on_course else "amber"

    @property
    def outlook(self) -> str:
        """The projection in words, with whether it reaches the target (never the colour alone)."""
        values = {"projection": charts.amount(self.projection), "year": self.year}
        if self.on_course:
            return _("on course: %(projection)s projected by the end of %(year)d") % values
        return _("behind: %(projection)s projected by the end of %(year)d") % values


def _year_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The factory calendar year around `now` (TIME_ZONE): its first instant and the next year's."""
    start = timezone.localtime(now).replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, start.replace(year=start.year + 1)


def course(now: datetime) -> Course:
    """One query: the vertical models delivered in the last 365 days, this year, and in the rate's window."""
    year_start, year_end = _year_bounds(now)
    counts = (
        vertical_models_delivered()
        # A leap year's last day starts its year more than 365 days back.
        .filter(delivered_at__gte=min(now - YEAR, year_start), delivered_at__lte=now)
        .aggregate(
            last_365_days=Count("id", filter=Q(delivered_at__gt=now - YEAR)),
            this_year=Count("id", filter=Q(delivered_at__gte=year_start)),
            recent=Count("id", filter=Q(delivered_at__gt=now - RATE_WINDOW)),
        )
    )
    return Course(
        now=now, target=settings.FACTORY_YEARLY_TARGET_MODELS, year_start=year_start, year_end=year_end, **counts
    )


def delivered_chart(course: Course) -> dict:
    """Vertical models delivered this year, cumulated day by day, against the target's pace and the projection."""
    title = _("Vertical models delivered this year against the target")
    if not course.last_365_days and not course.this_year:
        return charts.chart(
            "delivered",
            title=title,
            wide=True,
            empty=_(
                "No vertical model was delivered in the last 365 days. Delivered model, agent and application orders "
                "are counted here, day by day, against the yearly target of %(target)s."
            )
            % {"target": charts.amount(course.target)},
            fig=None,
        )
    rows = (
        vertical_models_delivered()
        .filter(delivered_at__gte=course.year_start, delivered_at__lte=course.now)
        .annotate(day=TruncDate("delivered_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    days, totals, total = [course.year_start], [0], 0
    for row in rows:
        total += row["n"]
        days.append(row["day"])
        totals.append(total)
    days.append(course.now)
    totals.append(total)
    delivered_word = _("delivered")
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"shape": "hv", "width": 3, "color": charts.WORKSHOP_COLOURS[Workshop.MODEL]},
            "name": _("Delivered"),
            "x": days,
            "y": totals,
            "hovertemplate": "%{y} " + delivered_word + "<extra>%{x}</extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"dash": "dot", "width": 2, "color": charts.CAPACITY_COLOUR},
            "name": _("Target pace (%(target)s a year)") % {"target": charts.amount(course.target)},
            "x": [course.year_start, course.year_end],
            "y": [0, course.target],
            "hovertemplate": "%{y:.0f}<extra>%{x}</extra>",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "line": {"dash": "dash", "width": 2, "color": charts.TONE_COLOURS[course.tone]},
            "name": _("Projection at the rate of the last 90 days"),
            "x": [course.now, course.year_end],
            "y": [course.this_year, round(course.projection_exact, 1)],
            "hovertemplate": "%{y:.0f}<extra>%{x}</extra>",
        },
    ]
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("Factory time (%(year)d)") % {"year": course.year},
        y_title=_("Vertical models (cumulative)"),
        xaxis={
            "type": "date",
            "range": [charts.instant(course.year_start), charts.instant(course.year_end)],
            "tickformat": "%b",
            "hoverformat": "%Y-%m-%d",
        },
        shapes=[charts.now_line(course.now)],
    )
    summary = ngettext(
        "%(count)s vertical model delivered in %(year)d; at the rate of the last 90 days (%(rate)s a day) the year "
        "ends at %(projection)s of %(target)s.",
        "%(count)s vertical models delivered in %(year)d; at the rate of the last 90 days (%(rate)s a day) the year "
        "ends at %(projection)s of %(target)s.",
        course.this_year,
    ) % {
        "count": charts.amount(course.this_year),
        "year": course.year,
        "rate": charts.amount(course.daily_rate, 2),
        "projection": charts.amount(course.projection),
        "target": charts.amount(course.target),
    }
    return charts.chart("delivered", title=title, wide=True, empty="", fig=fig, summary=summary)


# --- Where work waits ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitRow:
    """One workshop or pool kind: its work in progress and how long its work waited (None: nothing waited)."""

    key: str
    label: str
    url: str
    jobs_waiting: int
    jobs_running: int
    queue_wait: timedelta | None  # jobs, for a pool
    orders_in_production: int = 0  # workshops only: orders whose current stage is here
    orders_at_gate: int = 0
    gate_wait: timedelta | None = None  # workshops only: for the gate's decision
    bottleneck: bool = False  # work waits longest here (Bottleneck.place says where: its jobs or its gate)

    @property
    def queue_words(self) -> str:
        return _wait_words(self.queue_wait)

    @property
    def gate_words(self) -> str:
        return _wait_words(self.gate_wait)


@dataclass(frozen=True)
class Bottleneck:
    key: str
    place: str  # "queue" (a workshop's jobs), "gate" (a workshop's gate) or "pools" (a pool kind)
    wait: timedelta
    sentence: str


@dataclass(frozen=True)
class Waits:
    workshops: list[WaitRow]
    pool_kinds: list[WaitRow]
    bottleneck: Bottleneck | None


def _wait_words(wait: timedelta | None) -> str:
    return "—" if wait is None else duration_words(wait)


def _mean(total: timedelta | None, count: int) -> timedelta | None:
    return total / count if total is not None and count else None


def _job_waits(now: datetime) -> list[dict]:
    """Jobs per (workshop, pool kind): waiting and running now, and their waits for a pool, in one query.

    A job's wait runs from queued_at to started_at, or to now while it waits. A job preempted and started again has
    queued_at (the preemption) after started_at (its first start): the wait after its preemption is not recorded, so
    it is left out of the mean rather than counted as no wait."""
    moment = Value(now, output_field=DateTimeField())
    waited = Case(
        When(state__in=WAITING_STATES, then=moment - F("queued_at")),
        When(started_at__gte=F("queued_at"), then=F("started_at") - F("queued_at")),
        output_field=DurationField(),
    )
    return list(
        Job.objects.filter(Q(queued_at__gt=now - WAIT_WINDOW) | Q(state__in=ACTIVE_STATES))
        .values(workshop=F("step__stage__workshop"), pool_kind=F("kind"))
        .annotate(
            waiting=Count("id", filter=Q(state__in=WAITING_STATES)),
            running=Count("id", filter=Q(state=JobState.RUNNING)),
            timed=Count(waited),
            total=Sum(waited),
        )
        .order_by()
    )


def _gate_waits(now: datetime) -> dict[str, dict]:
    """Per workshop, how long its gate kept orders waiting: from the review's opening (the stage's work done) to its
    decision (the gate released, or the work sent back), or to now while pending, as the security center counts it."""
    moment = Value(now, output_field=DateTimeField())
    rows = (
        Review.objects.filter(Q(opened_at__gt=now - WAIT_WINDOW) | Q(status=ReviewStatus.PENDING))
        .values("workshop")
        .annotate(
            n=Count("id"), total=Sum(Coalesce("decided_at", moment) - F("opened_at"), output_field=DurationField())
        )
        .order_by()
    )
    return {row["workshop"]: row for row in rows}


def _stages_on_the_floor() -> dict[str, dict]:
    """Per workshop, the orders whose current stage is there: in production (or rework), or waiting at its gate."""
    at_gate = Q(status=StageStatus.AWAITING_REVIEW)
    rows = (
        OrderStage.objects.filter(status__in=OPEN_STAGE_STATUSES, order__status__in=IN_FLIGHT_STATUSES)
        .values("workshop")
        .annotate(in_production=Count("id", filter=~at_gate), at_gate=Count("id", filter=at_gate))
        .order_by()
    )
    return {row["workshop"]: row for row in rows}


def _bottleneck(workshops: list[WaitRow], pool_kinds: list[WaitRow]) -> Bottleneck | None:
    """Where work waits longest on average. Ties go to the workshop (its jobs, then its gate) before a pool kind:
    a workshop's jobs and a pool kind's can be the same jobs, and the workshop says where in the line they wait."""
    candidates = [(row.queue_wait, "queue", row) for row in workshops]
    candidates += [(row.gate_wait, "gate", row) for row in workshops]
    candidates += [(row.queue_wait, "pools", row) for row in pool_kinds]
    waited = [candidate for candidate in candidates if candidate[0] is not None and candidate[0] >= NOTABLE_WAIT]
    if not waited:
        return None
    wait, place, row = max(waited, key=lambda candidate: candidate[0])  # the first of equals
    values = {"name": row.label, "duration": duration_words(wait)}
    sentences = {
        "queue": _("Work waits longest in the %(name)s: its jobs waited %(duration)s for compute on average."),
        "gate": _(
            "Work waits longest at the gate of the %(name)s: orders waited %(duration)s for the review's decision "
            "on average."
        ),
        "pools": _("Work waits longest for %(name)s pools: their jobs waited %(duration)s for a pool on average."),
    }
    return Bottleneck(key=row.key, place=place, wait=wait, sentence=sentences[place] % values)


def waits(now: datetime) -> Waits:
    """Work in progress and mean waits per workshop and per pool kind, and the bottleneck; three queries."""
    jobs = _job_waits(now)
    gates = _gate_waits(now)
    stages = _stages_on_the_floor()

    def jobs_of(field: str, key: str) -> dict:
        mine = [row for row in jobs if row[field] == key]
        totals = [row["total"] for row in mine if row["total"] is not None]
        return {
            "jobs_waiting": sum(row["waiting"] for row in mine),
            "jobs_running": sum(row["running"] for row in mine),
            "queue_wait": _mean(sum(totals, timedelta(0)) if totals else None, sum(row["timed"] for row in mine)),
        }

    orders_url, jobs_url = reverse("orders:list"), reverse("dispatch:jobs")
    workshops = [
        WaitRow(
            key=workshop,
            label=str(label),
            url=f"{orders_url}?current_workshop={workshop}",
            orders_in_production=stages.get(workshop, {}).get("in_production", 0),
            orders_at_gate=stages.get(workshop, {}).get("at_gate", 0),
            gate_wait=_mean(gates.get(workshop, {}).get("total"), gates.get(workshop, {}).get("n", 0)),
            **jobs_of("workshop", workshop),
        )
        for workshop, label in Workshop.choices
    ]
    pool_kinds = [
        WaitRow(key=kind, label=str(label), url=f"{jobs_url}?kind={kind}&sort=queued", **jobs_of("pool_kind", kind))
        for kind, label in PoolKind.choices
    ]
    bottleneck = _bottleneck(workshops, pool_kinds)

    def marked(rows: list[WaitRow], places: tuple[str, ...]) -> list[WaitRow]:
        if bottleneck is None or bottleneck.place not in places:
            return rows
        return [replace(row, bottleneck=True) if row.key == bottleneck.key else row for row in rows]

    return Waits(
        workshops=marked(workshops, ("queue", "gate")),
        pool_kinds=marked(pool_kinds, ("pools",)),
        bottleneck=bottleneck,
    )


# --- Rework and gate rejections ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityRow:
    """One workshop over the last 365 days: its steps and those a gate sent back; its gate's decided and rejected
    reviews."""

    workshop: str
    label: str
    steps: int
    redone: int
    decided: int
    rejected: int

    @property
    def rework_rate(self) -> float | None:
        return self.redone / self.steps if self.steps else None

    @property
    def rejection_rate(self) -> float | None:
        return self.rejected / self.decided if self.decided else None

    @property
    def rework_percent(self) -> str:
        return _percent(self.rework_rate)

    @property
    def rejection_percent(self) -> str:
        return _percent(self.rejection_rate)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(100 * rate)}%"


def quality(now: datetime) -> list[QualityRow]:
    """Rework and rejection rates per workshop, three queries.

    Rework: the steps of stages started in the last 365 days that a gate sent back at least once. The steps are
    counted from the stages (steps_total), and the redone ones only among the stages whose gate was passed more than
    once (gate_passage > 0: a rejection starts the next passage): a few stages' steps, not a year of them.

    A step's rework_count also counts the redos a requirement change asked for (orders.services), which are the
    client's changes, not the gate's. Each change that names a step adds one, so a step was sent back by a gate when
    its rework_count is more than the changes that named it; the changes are counted only for the few redone steps
    that a change named at all."""
    since = now - YEAR
    steps = {
        row["workshop"]: row["steps"]
        for row in OrderStage.objects.filter(started_at__gt=since)
        .values("workshop")
        .annotate(steps=Sum("steps_total"))
        .order_by()
    }
    named = RequirementChange.rework_steps.through.objects.filter(orderstep=OuterRef("pk"))
    changes = named.values("orderstep").annotate(n=Count("id")).values("n")
    named_at_all = RequirementChange.rework_steps.through.objects.values("orderstep")
    # The redone steps first (index scans from the few stages), then the changes of just those: asked of every step,
    # the count of changes makes Postgres expect a costly query and compile it (JIT) for longer than it runs.
    redone_steps = OrderStep.objects.filter(
        stage__started_at__gt=since, stage__gate_passage__gt=0, rework_count__gt=0
    ).values("pk")
    redone = {
        row["stage__workshop"]: row["redone"]
        for row in OrderStep.objects.filter(pk__in=redone_steps)
        .filter(~Q(pk__in=named_at_all) | Q(rework_count__gt=Subquery(changes, output_field=IntegerField())))
        .values("stage__workshop")
        .annotate(redone=Count("id"))
        .order_by()
    }
    reviews = {
        row["workshop"]: row
        for row in Review.objects.filter(status__in=DECIDED_STATUSES, decided_at__gt=since)
        .values("workshop")
        .annotate(decided=Count("id"), rejected=Count("id", filter=Q(status=ReviewStatus.REJECTED)))
        .order_by()
    }
    return [
        QualityRow(
            workshop=workshop,
            label=str(label),
            steps=steps.get(workshop) or 0,
            redone=redone.get(workshop, 0),
            decided=reviews.get(workshop, {}).get("decided", 0),
            rejected=reviews.get(workshop, {}).get("rejected", 0),
        )
        for workshop, label in Workshop.choices
    ]


# --- Client satisfaction -------------------------------------------------------------------------------------------


def _months(now: datetime) -> list[date]:
    """The first days of the last SATISFACTION_MONTHS months of the factory calendar, this month last."""
    today = timezone.localdate(now)
    index = today.year * 12 + today.month - 1
    return [date(month // 12, month % 12 + 1, 1) for month in range(index - SATISFACTION_MONTHS + 1, index + 1)]


def _ratings_per_month(rated, moment: str, since: datetime) -> dict[date, tuple[int, int]]:
    """{month: (ratings, sum of scores)} of the rated rows of `rated` by the month of `moment`, bucketed in Postgres."""
    rows = (
        rated.filter(rating__isnull=False, **{f"{moment}__gte": since})
        .annotate(month=TruncMonth(moment, output_field=DateField()))
        .values("month")
        .annotate(n=Count("id"), total=Sum("rating"))
        .order_by()
    )
    return {row["month"]: (row["n"], row["total"]) for row in rows}


def satisfaction_chart(now: datetime) -> dict:
    """Mean client rating (1 to 5) per month over the last 12 months, two queries: order ratings (a client rates each
    delivered order) by the month of the delivery, and ticket ratings (each resolved ticket) by the month of the
    resolution. A rating is about what was delivered or resolved, so it counts in that month, whenever it is given."""
    months = _months(now)
    since = timezone.make_aware(datetime.combine(months[0], datetime.min.time()))
    orders = _ratings_per_month(Order.objects.filter(status__in=HANDED_OVER_STATUSES), "delivered_at", since)
    tickets = _ratings_per_month(Ticket.objects.all(), "resolved_at", since)
    title = _("Client satisfaction per month")
    if not orders and not tickets:
        return charts.chart(
            "satisfaction",
            title=title,
            empty=_(
                "No order delivered and no ticket resolved in the last 12 months was rated. Clients rate each "
                "delivered order and each resolved ticket from 1 to 5; the mean of each month appears here."
            ),
            fig=None,
        )
    both = {
        month: tuple(map(sum, zip(orders.get(month, (0, 0)), tickets.get(month, (0, 0)), strict=True)))
        for month in months
    }

    def line(name: str, counts: dict, colour: str, width: int) -> dict:
        shown = [month for month in months if counts.get(month, (0, 0))[0]]
        return {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": shown,
            "y": [round(counts[month][1] / counts[month][0], 2) for month in shown],
            "customdata": [counts[month][0] for month in shown],
            "line": {"color": colour, "width": width},
            "hovertemplate": _("%{y:.2f} of 5 from %{customdata} ratings") + "<extra>" + name + "</extra>",
        }

    # All ratings last, drawn over the two it sums up where they agree.
    traces = [
        line(_("Order ratings"), orders, charts.SERIES_COLOURS[1], 1),
        line(_("Ticket ratings"), tickets, charts.SERIES_COLOURS[2], 1),
        line(_("All ratings"), both, charts.SERIES_COLOURS[0], 3),
    ]
    fig = charts.figure(
        [trace for trace in traces if trace["x"]],
        title=title,
        x_title=_("Month (factory time)"),
        y_title=_("Mean rating (1 to 5)"),
        xaxis={"type": "date", "tickformat": "%Y-%m", "dtick": "M1", "hoverformat": "%Y-%m"},
        yaxis={"range": [0.9, 5.1], "rangemode": "normal", "dtick": 1},
    )
    latest = max(month for month in months if both[month][0])
    count, total = both[latest]
    summary = ngettext(
        "In %(month)s clients gave a mean rating of %(mean)s of 5 (%(count)s rating).",
        "In %(month)s clients gave a mean rating of %(mean)s of 5 (%(count)s ratings).",
        count,
    ) % {
        "month": formats.date_format(latest, "YEAR_MONTH_FORMAT"),
        "mean": charts.amount(total / count, 1),
        "count": charts.amount(count),
    }
    return charts.chart("satisfaction", title=title, empty="", fig=fig, summary=summary)


# --- The page ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    now: datetime
    course: Course
    waits: Waits
    quality: list[QualityRow]
    charts: list[dict]


def plan(now: datetime) -> Plan:
    """Everything the plan page shows, in ten queries whatever the history's length."""
    delivered = course(now)
    return Plan(
        now=now,
        course=delivered,
        waits=waits(now),
        quality=quality(now),
        charts=[delivered_chart(delivered), satisfaction_chart(now)],
    )
