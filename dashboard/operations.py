"""The operations center (`/`): KPI tiles, active orders at risk first, a Gantt of the workshops, throughput.

Everything is aggregated in Postgres in a fixed number of queries, whatever the number of orders.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Case, Count, DateField, F, IntegerField, Min, Prefetch, Q, Value, When
from django.db.models.functions import TruncWeek
from django.urls import reverse
from django.utils import formats
from django.utils.timezone import localdate
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from aftersales import selectors as aftersales_selectors
from catalog.models import ProductType, Workshop
from dashboard import plan
from factory import charts
from orders import selectors as order_selectors
from orders.display import duration_words
from orders.filters import with_due_dates
from orders.models import HANDED_OVER_STATUSES, IN_FLIGHT_STATUSES, Order, OrderStage, OrderStatus
from security.models import Review, ReviewStatus

# Orders on the factory floor: accepted and not yet handed over.
ON_THE_FLOOR = (*IN_FLIGHT_STATUSES, OrderStatus.READY)
# Rates and lead times look back this far: recent enough to act on, long enough to mean something.
LOOKBACK = timedelta(days=90)
THROUGHPUT_WEEKS = 12
ACTIVE_ROWS = 12


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str
    detail: str
    url: str
    tone: str = ""  # "", or a status colour when the number needs attention


def _order_numbers(now: datetime) -> dict:
    """Orders by status, on-time delivery and lateness of active orders, in one query."""
    since = now - LOOKBACK
    today = localdate(now)
    late_active = Q(status__in=ON_THE_FLOOR) & (Q(due_date__lt=today) | Q(eta_date__gt=F("due_date")))
    recent = Q(status__in=HANDED_OVER_STATUSES, delivered_at__gte=since)
    counts = {f"status_{status}": Count("id", filter=Q(status=status)) for status in OrderStatus.values}
    return with_due_dates(Order.objects.all()).aggregate(
        **counts,
        at_risk=Count("id", filter=late_active),
        delivered_recent=Count("id", filter=recent),
        on_time_recent=Count("id", filter=recent & Q(delivered_date__lte=F("due_date"))),
    )


def _lead_times(now: datetime) -> dict[str, timedelta]:
    """Mean time from order to delivery per product type, over the look-back window."""
    rows = (
        Order.objects.filter(status__in=HANDED_OVER_STATUSES, delivered_at__gte=now - LOOKBACK)
        .values("product_type")
        .annotate(lead=Avg(F("delivered_at") - F("created_at")))
    )
    return {row["product_type"]: row["lead"] for row in rows}


def tiles(now: datetime) -> list[Tile]:
    numbers = _order_numbers(now)
    leads = _lead_times(now)
    reviews = Review.objects.filter(status=ReviewStatus.PENDING).aggregate(n=Count("id"), oldest=Min("opened_at"))
    tickets = aftersales_selectors.ticket_counts()
    course = plan.course(now)
    orders_url = reverse("orders:list")

    on_floor = sum(numbers[f"status_{status}"] for status in ON_THE_FLOOR)
    floor_detail = _("%(production)d in production · %(gate)d at a gate · %(ready)d ready") % {
        "production": numbers[f"status_{OrderStatus.IN_PRODUCTION}"],
        "gate": numbers[f"status_{OrderStatus.AWAITING_REVIEW}"],
        "ready": numbers[f"status_{OrderStatus.READY}"],
    }
    submitted = numbers[f"status_{OrderStatus.SUBMITTED}"]
    delivered = numbers["delivered_recent"]
    on_time = f"{round(100 * numbers['on_time_recent'] / delivered)}%" if delivered else "—"
    labels = dict(ProductType.choices)
    lead_parts = [f"{labels[kind]} {duration_words(leads[kind])}" for kind in ProductType.values if kind in leads]
    all_leads = [lead for lead in leads.values() if lead is not None]
    mean_lead = duration_words(sum(all_leads, timedelta(0)) / len(all_leads)) if all_leads else "—"
    return [
        Tile(
            "on_floor",
            _("Orders on the floor"),
            str(on_floor),
            floor_detail,
            f"{orders_url}?status={OrderStatus.IN_PRODUCTION}",
        ),
        Tile(
            "submitted",
            _("Waiting for acceptance"),
            str(submitted),
            _("new orders to accept or reject"),
            f"{orders_url}?status={OrderStatus.SUBMITTED}",
            "amber" if submitted else "",
        ),
        Tile(
            "at_risk",
            _("Orders at risk"),
            str(numbers["at_risk"]),
            _("ETA past the due date"),
            f"{orders_url}?overdue=true",
            "red" if numbers["at_risk"] else "green",
        ),
        Tile(
            "on_time",
            _("On-time delivery"),
            on_time,
            ngettext(
                "%(count)d order delivered in the last 90 days",
                "%(count)d orders delivered in the last 90 days",
                delivered,
            )
            % {"count": delivered},
            f"{orders_url}?status={OrderStatus.DELIVERED}",
        ),
        Tile(
            "plan",
            _("Vertical models, last 365 days"),
            _("%(delivered)s of %(target)s")
            % {"delivered": charts.amount(course.last_365_days), "target": charts.amount(course.target)},
            course.outlook,
            reverse("plan"),
            course.tone,
        ),
        Tile("lead_time", _("Mean lead time"), mean_lead, " · ".join(lead_parts) or _("no deliveries yet"), orders_url),
        Tile(
            "reviews",
            _("Reviews waiting"),
            str(reviews["n"]),
            _("oldest waiting %(duration)s") % {"duration": duration_words(now - reviews["oldest"])}
            if reviews["oldest"]
            else _("no gate is waiting"),
            reverse("security:reviews"),
            "amber" if reviews["n"] else "",
        ),
        Tile(
            "tickets",
            _("Open tickets"),
            str(tickets["active"]),
            ngettext("%(count)d at risk", "%(count)d at risk", tickets["at_risk"]) % {"count": tickets["at_risk"]},
            reverse("aftersales:tickets"),
            "amber" if tickets["at_risk"] else "",
        ),
        Tile(
            "breaches",
            _("SLA breaches"),
            str(tickets["breached"]),
            _("open tickets past their SLA"),
            f"{reverse('aftersales:tickets')}?breached=true",
            "red" if tickets["breached"] else "green",
        ),
    ]


def active_orders(now: datetime) -> list[Order]:
    """Orders on the floor, late ones first (ETA past the due date), then by due date; with stages."""
    today = localdate(now)
    late = Q(due_date__lt=today) | Q(eta_date__gt=F("due_date"))
    return list(
        with_due_dates(Order.objects.filter(status__in=ON_THE_FLOOR))
        .select_related("client")
        .prefetch_related(Prefetch("stages", queryset=OrderStage.objects.order_by("position")))
        .annotate(late=Case(When(late, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("-late", "due_date", "id")[:ACTIVE_ROWS]
    )


def active_order_rows(orders: list[Order], now: datetime) -> list[dict]:
    return [
        {
            "order": order,
            "segments": order_selectors.workshop_bar(order),
            "late": bool(order.late),
            "due": order.due_date,
            "eta": order.eta,
            "days_late": max(localdate(order.eta or now) - order.due_date, timedelta(0)).days,
        }
        for order in orders
    ]


def gantt(orders: list[Order], now: datetime) -> dict:
    """Each active order's workshops as bars on the factory clock (done and in progress), with ETA and due date."""
    labels = dict(Workshop.choices)
    bars = {workshop: {"y": [], "base": [], "x": [], "text": []} for workshop in Workshop.values}
    order_names = [f"{order.reference}" for order in orders]
    for order, name in zip(orders, order_names, strict=True):
        for stage in order.stages.all():
            if stage.started_at is None:
                continue
            end = stage.finished_at or now
            row = bars[stage.workshop]
            row["y"].append(name)
            row["base"].append(charts.instant(stage.started_at))
            row["x"].append((end - stage.started_at).total_seconds() * 1000)
            row["text"].append(
                _("%(workshop)s: %(progress)d%%, %(duration)s")
                % {
                    "workshop": labels[stage.workshop],
                    "progress": stage.progress,
                    "duration": duration_words(end - stage.started_at),
                }
            )
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": labels[workshop],
            "marker": {"color": charts.WORKSHOP_COLOURS[workshop]},
            "hovertemplate": "%{text}<extra>%{y}</extra>",
            "textposition": "none",
            **row,
        }
        for workshop, row in bars.items()
        if row["y"]
    ]
    if not traces:
        return charts.chart(
            "gantt",
            wide=True,
            title=_("Active orders through the workshops"),
            empty=_("No order is in production. Accepted orders appear here as their workshops start."),
            fig=None,
        )
    with_eta = [(name, order) for name, order in zip(order_names, orders, strict=True) if order.eta]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": _("ETA"),
            "x": [charts.instant(order.eta) for _name, order in with_eta],
            "y": [name for name, _order in with_eta],
            "marker": {"symbol": "diamond", "size": 10, "color": charts.TONE_COLOURS["grey"]},
            "hovertemplate": _("ETA %{x}") + "<extra>%{y}</extra>",
        }
    )
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": _("Due date"),
            "x": [charts.instant(order.due_date) for order in orders],
            "y": order_names,
            "marker": {"symbol": "line-ns-open", "size": 16, "line": {"width": 3}, "color": charts.TONE_COLOURS["red"]},
            "hovertemplate": _("Due %{x}") + "<extra>%{y}</extra>",
        }
    )
    fig = charts.figure(
        traces,
        title=_("Active orders through the workshops"),
        x_title=_("Factory time"),
        y_title=_("Order"),
        barmode="overlay",
        height=max(300, 170 + 28 * len(orders)),
        xaxis={"type": "date", "tickformat": "%m-%d", "hoverformat": "%Y-%m-%d %H:%M"},
        yaxis={"autorange": "reversed", "type": "category", "rangemode": "normal"},
        shapes=[charts.now_line(now)],
    )
    summary = ngettext(
        "%(count)d active order through the workshops, %(late)d of them late.",
        "%(count)d active orders through the workshops, %(late)d of them late.",
        len(orders),
    ) % {
        "count": len(orders),
        "late": sum(order.late for order in orders),  # as active_orders marks them
    }
    return charts.chart(
        "gantt", wide=True, title=_("Active orders through the workshops"), empty="", fig=fig, summary=summary
    )


def throughput(now: datetime) -> dict:
    """Orders delivered per week by product type, over the last weeks (bucketed in Postgres)."""
    since = now - timedelta(weeks=THROUGHPUT_WEEKS)
    rows = (
        Order.objects.filter(status__in=HANDED_OVER_STATUSES, delivered_at__gte=since)
        # The Monday of the week in the factory's time zone, as a date: truncating that again to a date would
        # convert it once more and label each week with the Sunday before.
        .annotate(week=TruncWeek("delivered_at", output_field=DateField()))
        .values("week", "product_type")
        .annotate(n=Count("id"))
        .order_by("week")
    )
    weeks = sorted({row["week"] for row in rows})
    title = _("Orders delivered per week")
    if not weeks:
        return charts.chart(
            "throughput",
            title=title,
            empty=_("No order was delivered in the last 12 weeks. Delivered orders are counted here by week."),
            fig=None,
        )
    counts = {(row["week"], row["product_type"]): row["n"] for row in rows}
    labels = dict(ProductType.choices)
    traces = [
        {
            "type": "bar",
            "name": labels[kind],
            "x": [charts.instant(week) for week in weeks],
            "y": [counts.get((week, kind), 0) for week in weeks],
            "marker": {"color": charts.SERIES_COLOURS[index]},
            "hovertemplate": "%{y}<extra>" + str(labels[kind]) + "</extra>",
        }
        for index, kind in enumerate(ProductType.values)
        if any(counts.get((week, kind)) for week in weeks)
    ]
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("Week (factory time)"),
        y_title=_("Orders delivered"),
        barmode="stack",
        xaxis={"type": "date", "tickformat": "%m-%d", "dtick": 7 * 24 * 3600 * 1000},
    )
    per_week = [sum(counts.get((week, kind), 0) for kind in ProductType.values) for week in weeks]
    busiest = max(range(len(weeks)), key=per_week.__getitem__)
    summary = ngettext(
        "%(total)d order delivered in the last %(weeks)d weeks; the most, %(most)d, in the week of %(week)s.",
        "%(total)d orders delivered in the last %(weeks)d weeks; the most, %(most)d, in the week of %(week)s.",
        sum(per_week),
    ) % {
        "total": sum(per_week),
        "weeks": THROUGHPUT_WEEKS,
        "most": per_week[busiest],
        "week": formats.date_format(weeks[busiest], "SHORT_DATE_FORMAT"),
    }
    return charts.chart("throughput", title=title, empty="", fig=fig, summary=summary)


@dataclass(frozen=True)
class OperationsCenter:
    now: datetime
    tiles: list[Tile]
    active: list[dict]
    charts: list[dict]


def operations_center(now: datetime) -> OperationsCenter:
    orders = active_orders(now)
    return OperationsCenter(
        now=now,
        tiles=tiles(now),
        active=active_order_rows(orders, now),
        charts=[gantt(orders, now), throughput(now)],
    )
