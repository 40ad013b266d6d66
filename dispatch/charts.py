"""The dispatch center's figures: utilization over time, load per pool, the queue over time, cost per day.

Data come bucketed from Postgres (dispatch.selectors); this module only arranges them as plotly figures.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import PoolKind
from dispatch import selectors
from dispatch.models import ComputePool, JobState, PoolState
from dispatch.scenarios import SLIP_TOLERANCE_HOURS  # an ETA moved by less reads as unchanged
from factory import charts
from orders.display import duration_words
from orders.models import Priority

HISTORY_HOURS = 24
# A distinct colour per band: more pools are stacked per site, and more sites than colours share a last band.
MAX_POOL_BANDS = len(charts.SERIES_COLOURS)
COST_DAYS = 30
PRIORITY_COLOURS = {
    Priority.URGENT: charts.TONE_COLOURS["red"],
    Priority.HIGH: "#e69f00",
    Priority.NORMAL: "#0072b2",
    Priority.LOW: charts.TONE_COLOURS["grey"],
}


def utilization(
    pools: list[ComputePool], *, now: datetime, one_pool: bool = False, bookings: list | None = None
) -> dict:
    """Our load stacked per pool (per site when there are many pools) on top of other tenants' background
    load, under the capacity line. With `one_pool`, the load of `pools`' only pool (a pool's own page), and its
    `bookings` (reservations and maintenance windows not cancelled) as bands: see `booking_bands`."""
    title = _("Utilization over the last 24 h")
    # One band per pool while a person can tell them apart; beyond that, one band per site.
    per_site = len(pools) > MAX_POOL_BANDS
    rows = selectors.utilization_history(
        now=now, hours=HISTORY_HOURS, per_site=per_site, pool_id=pools[0].pk if one_pool else None
    )
    if not rows:
        return charts.chart(
            "utilization",
            wide=True,
            title=title,
            empty=_("No utilization recorded yet. Each dispatch tick records every pool's load here."),
            fig=None,
        )
    buckets = sorted({row["bucket"] for row in rows})
    x = [charts.instant(bucket) for bucket in buckets]
    name_of = {(pool.site_id if per_site else pool.pk): (pool.site.name if per_site else pool.name) for pool in pools}
    used = defaultdict(lambda: defaultdict(float))
    background, capacity = defaultdict(float), defaultdict(float)
    for row in rows:
        used[name_of.get(row["band"], str(row["band"]))][row["bucket"]] += row["used"]
        background[row["bucket"]] += row["background"]
        capacity[row["bucket"]] += row["capacity"]
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "stackgroup": "load",
            "name": _("Background load (other tenants)"),
            "x": x,
            "y": [round(background[bucket], 1) for bucket in buckets],
            "line": {"width": 0, "color": charts.BACKGROUND_LOAD_COLOUR},
            "fillcolor": charts.BACKGROUND_LOAD_COLOUR,
            "hovertemplate": "%{y:,.1f} PFLOPS<extra>%{fullData.name}</extra>",
        }
    ]
    for index, (band, load) in enumerate(_distinct_bands(used)):
        colour = charts.SERIES_COLOURS[index]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "stackgroup": "load",
                "name": band,
                "x": x,
                "y": [round(load.get(bucket, 0.0), 1) for bucket in buckets],
                "line": {"width": 0.5, "color": colour},
                "hovertemplate": "%{y:,.1f} PFLOPS<extra>%{fullData.name}</extra>",
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": _("Capacity"),
            "x": x,
            "y": [round(capacity[bucket], 1) for bucket in buckets],
            "line": {"color": charts.CAPACITY_COLOUR, "width": 2, "dash": "dash"},
            "hovertemplate": "%{y:,.0f} PFLOPS<extra>%{fullData.name}</extra>",
        }
    )
    summary = _utilization_summary(
        pools[0].name if one_pool else None,
        bands=len(used),
        per_site=per_site,
        in_use=[background[bucket] + sum(used[band].get(bucket, 0.0) for band in used) for bucket in buckets],
        capacity=capacity[buckets[-1]],
    )
    shapes, x_range = booking_bands(bookings or [], now=now, since=buckets[0])
    if shapes:
        summary = f"{summary} {_bands_summary(bookings or [], now=now, since=buckets[0])}"
    if x_range:
        title = _("Utilization over the last 24 h, and the bookings of the week ahead")
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("Factory time"),
        y_title=_("PFLOPS"),
        height=380,
        hovermode="x unified",
        xaxis={"type": "date", "tickformat": "%H:%M\n%m-%d", **({"range": x_range} if x_range else {})},
        shapes=shapes,
        # One entry per band: a column beside the plot keeps the plot its full height.
        legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top"},
        margin={"r": 170, "b": 56},
    )
    return charts.chart("utilization", wide=True, title=title, empty="", fig=fig, summary=summary)


# How far ahead a pool's chart looks for bookings: a week, so that the next maintenance window or reservation is
# seen beside the last day's load. The x axis reaches as far as the bookings it finds, never further.
BOOKINGS_AHEAD = timedelta(days=7)
# Maintenance closes the pool: the red of "out of service" (dispatch.display.POOL_STATE_TONE); a reservation holds
# room for someone: the amber of "held, waiting". Light, under the load, so the load stays readable.
BAND_COLOURS = {"maintenance": charts.TONE_COLOURS["red"], "reservation": charts.TONE_COLOURS["amber"]}
BAND_OPACITY = 0.16


def _band_label(booking) -> str:
    if booking.kind == "maintenance" and booking.closes_to == "draining":
        return _("Maintenance #%(id)d, draining") % {"id": booking.pk}
    if booking.kind == "maintenance":
        return _("Maintenance #%(id)d") % {"id": booking.pk}
    owner = booking.order.reference if booking.order_id else booking.client.name
    return _("Reserved #%(id)d: %(pflops)s PFLOPS for %(owner)s") % {
        "id": booking.pk,
        "pflops": charts.amount(float(booking.pflops), 1 if booking.pflops % 1 else 0),
        "owner": owner,
    }


def _banded(bookings: list, *, now: datetime, since: datetime) -> list:
    """The bookings a pool's chart draws: those overlapping its last day or starting within BOOKINGS_AHEAD."""
    return [b for b in bookings if b.cancelled_at is None and b.end > since and b.start < now + BOOKINGS_AHEAD]


def booking_bands(bookings: list, *, now: datetime, since: datetime) -> tuple[list[dict], list[str] | None]:
    """A pool's reservations and maintenance windows as shaded bands over the whole height of its utilization chart
    (plotly shapes: x in factory time, y the plot's height), each labelled with what it is, one legend entry per kind;
    and the x range that shows them: from the chart's first point to the end of the last band drawn (at most
    BOOKINGS_AHEAD from now), or None when no band reaches past now. A dotted line marks now when the axis goes on
    into the future."""
    drawn = sorted(_banded(bookings, now=now, since=since), key=lambda b: (b.start, b.pk))
    names = {"maintenance": _("Maintenance window"), "reservation": _("Reserved room")}
    shapes, named = [], set()
    for booking in drawn:
        start, end = max(booking.start, since), min(booking.end, now + BOOKINGS_AHEAD)
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": charts.instant(start),
                "x1": charts.instant(end),
                "y0": 0,
                "y1": 1,
                "fillcolor": BAND_COLOURS[booking.kind],
                "opacity": BAND_OPACITY,
                "line": {"width": 1, "color": BAND_COLOURS[booking.kind]},
                "layer": "below",
                "name": names[booking.kind],
                "legendgroup": booking.kind,
                "showlegend": booking.kind not in named,
                "label": {
                    "text": _band_label(booking),
                    "textposition": "top left",
                    "padding": 8,
                    "font": {"size": 11, "color": charts.CAPACITY_COLOUR},
                },
            }
        )
        named.add(booking.kind)
    last = max((min(b.end, now + BOOKINGS_AHEAD) for b in drawn), default=now)
    if last <= now:
        return shapes, None
    return [*shapes, {**charts.now_line(now), "x0": charts.instant(now), "x1": charts.instant(now)}], [
        charts.instant(since),
        charts.instant(last),
    ]


def _bands_summary(bookings: list, *, now: datetime, since: datetime) -> str:
    """The bands in words, for the chart's text alternative."""
    drawn = sorted(_banded(bookings, now=now, since=since), key=lambda b: (b.start, b.pk))
    return _("Shaded: %(bands)s.") % {
        "bands": "; ".join(
            _("%(what)s, %(start)s to %(end)s")
            % {
                "what": _band_label(booking),
                "start": formats.date_format(timezone.localtime(booking.start), "SHORT_DATETIME_FORMAT"),
                "end": formats.date_format(timezone.localtime(booking.end), "SHORT_DATETIME_FORMAT"),
            }
            for booking in drawn
        )
    }


def _utilization_summary(pool_name, *, bands: int, per_site: bool, in_use: list[float], capacity: float) -> str:
    """What the stacked bands add up to: the latest total against the capacity, and the peak."""
    if pool_name is not None:
        what = pool_name
    elif per_site:
        what = ngettext("%(count)d site", "%(count)d sites", bands) % {"count": bands}
    else:
        what = ngettext("%(count)d pool", "%(count)d pools", bands) % {"count": bands}
    return _(
        "%(what)s over the last 24 h: %(latest)s of %(capacity)s PFLOPS in use at the latest point, other tenants "
        "included; peak %(peak)s PFLOPS."
    ) % {
        "what": what,
        "latest": charts.amount(in_use[-1]),
        "capacity": charts.amount(capacity),
        "peak": charts.amount(max(in_use)),
    }


def _distinct_bands(used: dict[str, dict]) -> list[tuple[str, dict]]:
    """The bands in name order, one colour each: beyond MAX_POOL_BANDS (more sites than colours), the sites that
    carried the least of our load over the period share one last band, named with their number."""
    if len(used) <= MAX_POOL_BANDS:
        return sorted(used.items())
    by_load = sorted(used, key=lambda band: (-sum(used[band].values()), band))
    kept, merged = by_load[: MAX_POOL_BANDS - 1], by_load[MAX_POOL_BANDS - 1 :]
    others = defaultdict(float)
    for band in merged:
        for bucket, load in used[band].items():
            others[bucket] += load
    name = ngettext("%(count)s other site", "%(count)s other sites", len(merged)) % {"count": len(merged)}
    return [(band, used[band]) for band in sorted(kept)] + [(name, others)]


def load_per_pool(pools: list[ComputePool]) -> dict:
    """Each pool now: our jobs, other tenants and what is free, as one bar of its capacity."""
    title = _("Current load per pool")
    if not pools:
        return charts.chart(
            "pool-load",
            title=title,
            empty=_("No compute pool is set up. Admins add pools in the admin."),
            fig=None,
        )
    names = [pool.name + ("" if pool.state == PoolState.ACTIVE else f" ({pool.get_state_display()})") for pool in pools]
    used = [float(pool.used_pflops) for pool in pools]
    background = [float(pool.background_pflops) for pool in pools]
    free = [
        max(float(pool.capacity_pflops) - u - b, 0.0) if pool.state == PoolState.ACTIVE else 0.0
        for pool, u, b in zip(pools, used, background, strict=True)
    ]
    series = [
        (_("Our jobs"), used, charts.SERIES_COLOURS[0]),
        (_("Background load (other tenants)"), background, charts.BACKGROUND_LOAD_COLOUR),
        (_("Free"), free, "#e3e7ec"),
    ]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": names,
            "x": values,
            "marker": {"color": colour},
            "hovertemplate": "%{x:,.1f} PFLOPS<extra>%{fullData.name}</extra>",
        }
        for name, values, colour in series
    ]
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("PFLOPS"),
        y_title=_("Pool"),
        barmode="stack",
        legend={"traceorder": "normal"},
        height=max(300, 150 + 24 * len(pools)),
        yaxis={"autorange": "reversed", "type": "category", "rangemode": "normal"},
    )
    # Other tenants' load counts: a pool full of theirs is as busy for us as one full of ours.
    share = [(used[i] + background[i]) / float(pool.capacity_pflops or 1) for i, pool in enumerate(pools)]
    busiest = max(range(len(pools)), key=share.__getitem__)
    summary = ngettext(
        "%(count)d pool now; the busiest is %(pool)s at %(percent)d%% of its capacity.",
        "%(count)d pools now; the busiest is %(pool)s at %(percent)d%% of its capacity.",
        len(pools),
    ) % {"count": len(pools), "pool": names[busiest], "percent": round(100 * share[busiest])}
    return charts.chart("pool-load", title=title, empty="", fig=fig, summary=summary)


def capacity(totals: selectors.Totals) -> dict:
    """The platform's compute now, from the same totals as the KPI tiles: what the sites monitor against what is
    dispatchable to us, and how the dispatchable part is taken (our jobs, other tenants, free)."""
    title = _("Monitored and dispatchable compute now")
    if not totals.monitored and not totals.capacity:
        return charts.chart(
            "capacity",
            title=title,
            empty=_("No compute site or pool is set up. Admins add sites and their pools in the admin."),
            fig=None,
        )
    monitored_row, dispatchable_row = _("Monitored by the sites"), _("Dispatchable to us")
    dispatchable, offline = float(totals.dispatchable), float(totals.offline)
    used, background, free = float(totals.used), float(totals.background), float(totals.free)
    # Monitored: what is lent to us (in service or offline), and the rest of what the sites run for others.
    # Dispatchable: our jobs, other tenants, free room, and what draining pools hold back from new jobs.
    segments = [
        (monitored_row, _("Dispatchable to us"), dispatchable, charts.SERIES_COLOURS[8]),
        (monitored_row, _("Offline pools"), offline, charts.TONE_COLOURS["grey"]),
        (
            monitored_row,
            _("Not lent to us"),
            max(float(totals.monitored) - dispatchable - offline, 0.0),
            "#eef0f3",
        ),
        (dispatchable_row, _("Used by our jobs"), used, charts.SERIES_COLOURS[0]),  # as on "Current load per pool"
        (dispatchable_row, _("Background load (other tenants)"), background, charts.BACKGROUND_LOAD_COLOUR),
        (dispatchable_row, _("Free"), free, "#e3e7ec"),
        (
            dispatchable_row,
            _("Held back by draining pools"),
            max(dispatchable - used - background - free, 0.0),
            charts.TONE_COLOURS["amber"],
        ),
    ]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": [row],
            "x": [round(value, 1)],
            "marker": {"color": colour, "line": {"color": charts.CAPACITY_COLOUR, "width": 0.5}},
            "hovertemplate": "%{x:,.0f} PFLOPS<extra>%{fullData.name}</extra>",
        }
        for row, name, value, colour in segments
        if value > 0
    ]
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("PFLOPS"),
        barmode="stack",
        height=300,
        legend={"traceorder": "normal"},
        yaxis={"autorange": "reversed", "type": "category", "rangemode": "normal"},
        xaxis={"tickformat": ",.0f"},
    )
    summary = _(
        "%(monitored)s PFLOPS monitored by the sites, %(dispatchable)s dispatchable to us: %(used)s used by our "
        "jobs, %(background)s by other tenants, %(free)s free."
    ) % {
        "monitored": charts.amount(float(totals.monitored)),
        "dispatchable": charts.amount(dispatchable),
        "used": charts.amount(used),
        "background": charts.amount(background),
        "free": charts.amount(free),
    }
    return charts.chart("capacity", wide=True, title=title, empty="", fig=fig, summary=summary)


def _by_priority(rows, value: str) -> tuple[list[str], list[dict]]:
    buckets = sorted({row["bucket"] for row in rows})
    values = defaultdict(dict)
    for row in rows:
        values[row["priority"]][row["bucket"]] = float(row[value] or 0)
    labels = dict(Priority.choices)
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": labels[priority],
            "x": [charts.instant(bucket) for bucket in buckets],
            "y": [round(values[priority].get(bucket, 0.0), 2) for bucket in buckets],
            "line": {"color": PRIORITY_COLOURS[priority], "width": 2},
        }
        for priority in reversed(Priority.values)
    ]
    return buckets, traces


def queue_depth(*, now: datetime) -> list[dict]:
    """Two figures: jobs waiting by priority over time, and how long they had waited (mean)."""
    rows = selectors.queue_history(now=now, hours=HISTORY_HOURS)
    depth_title, wait_title = _("Jobs waiting by priority"), _("Mean wait by priority")
    if not rows:
        empty = _("No queue history yet. Each dispatch tick records the queue of every priority here.")
        return [
            charts.chart("queue-depth", title=depth_title, empty=empty, fig=None),
            charts.chart("queue-wait", title=wait_title, empty=empty, fig=None),
        ]
    _buckets, depth = _by_priority(rows, "waiting")
    _buckets, wait = _by_priority(rows, "wait")
    waiting = [sum(values) for values in zip(*(trace["y"] for trace in depth), strict=True)]
    longest = max(wait, key=lambda trace: max(trace["y"]))
    if max(waiting) == 0 and max(longest["y"]) == 0:
        depth_summary = wait_summary = _("No job waited in the last 24 h.")
    else:
        depth_summary = _("Over the last 24 h: %(latest)s jobs waiting at the latest point, at most %(peak)s.") % {
            "latest": charts.amount(waiting[-1], 1),
            "peak": charts.amount(max(waiting), 1),
        }
        wait_summary = _("Over the last 24 h the longest mean wait was %(hours)s h, at %(priority)s priority.") % {
            "hours": charts.amount(max(longest["y"]), 1),
            "priority": longest["name"],
        }
    for trace in depth:
        trace["hovertemplate"] = _("%{y:.1f} jobs") + "<extra>%{fullData.name}</extra>"
    for trace in wait:
        trace["hovertemplate"] = _("%{y:.1f} h") + "<extra>%{fullData.name}</extra>"
    common = {"x_title": _("Factory time"), "xaxis": {"type": "date", "tickformat": "%H:%M\n%m-%d"}}
    return [
        charts.chart(
            "queue-depth",
            title=depth_title,
            empty="",
            fig=charts.figure(depth, title=depth_title, y_title=_("Waiting jobs"), **common),
            summary=depth_summary,
        ),
        charts.chart(
            "queue-wait",
            title=wait_title,
            empty="",
            fig=charts.figure(wait, title=wait_title, y_title=_("Hours waited"), **common),
            summary=wait_summary,
        ),
    ]


def cost(*, now: datetime) -> dict:
    title = _("Compute cost per day")
    rows = selectors.cost_per_day(now=now, days=COST_DAYS)
    if not rows:
        return charts.chart(
            "cost",
            title=title,
            empty=_("No compute charged yet. Running jobs are charged at their pool's price per PFLOPS·h."),
            fig=None,
        )
    trace = {
        "type": "bar",
        "name": _("Cost"),
        "x": [charts.instant(row["day"]) for row in rows],
        "y": [float(row["cost"] or 0) for row in rows],
        "marker": {"color": charts.SERIES_COLOURS[0]},
        "hovertemplate": "¥%{y:,.2f}<extra></extra>",
    }
    fig = charts.figure(
        [trace],
        title=title,
        x_title=_("Day (factory time)"),
        y_title=_("CNY"),
        showlegend=False,
        xaxis={"type": "date", "tickformat": "%m-%d", "dtick": 24 * 3600 * 1000},
        yaxis={"tickformat": ",.0f"},
    )
    dearest = max(rows, key=lambda row: float(row["cost"] or 0))
    summary = _("%(total)s CNY over the last %(days)d days; the most on %(day)s: %(cost)s CNY.") % {
        "days": COST_DAYS,
        "total": charts.amount(sum(trace["y"]), 2),
        "day": formats.date_format(dearest["day"], "SHORT_DATE_FORMAT"),
        "cost": charts.amount(float(dearest["cost"] or 0), 2),
    }
    return charts.chart("cost", title=title, empty="", fig=fig, summary=summary)


def dispatch_charts(pools: list[ComputePool], *, totals: selectors.Totals, now: datetime) -> list[dict]:
    return [
        capacity(totals),
        utilization(pools, now=now),
        load_per_pool(pools),
        *queue_depth(now=now),
        cost(now=now),
    ]


def order_compute(*, order, now: datetime) -> dict:
    """The order's compute in use over time (PFLOPS, from its jobs' runs) and its total so far (PFLOPS·h)."""
    title = _("Compute used by this order")
    spans = selectors.order_job_spans(order_id=order.pk)
    if not spans:
        return charts.chart(
            "compute",
            title=title,
            empty=_("No compute used yet. Jobs start when the order's steps are ready and a pool has room."),
            fig=None,
        )
    changes = defaultdict(float)
    for span in spans:
        changes[span["started_at"]] += float(span["demand_pflops"])
        end = span["finished_at"] or (now if span["state"] == JobState.RUNNING else span["started_at"])
        changes[end] -= float(span["demand_pflops"])
    x, in_use, total = [], [], []
    level = worked = 0.0
    previous = None
    for moment in sorted(changes):
        if previous is not None:
            worked += level * (moment - previous).total_seconds() / 3600
        level = max(level + changes[moment], 0.0)
        previous = moment
        x.append(charts.instant(moment))
        in_use.append(round(level, 2))
        total.append(round(worked, 1))
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"shape": "hv", "color": charts.SERIES_COLOURS[0]},
            "fill": "tozeroy",
            "name": _("In use (PFLOPS)"),
            "x": x,
            "y": in_use,
            "hovertemplate": "%{y:,.2f} PFLOPS<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"color": charts.CAPACITY_COLOUR, "dash": "dot"},
            "name": _("Total so far (PFLOPS·h)"),
            "x": x,
            "y": total,
            "yaxis": "y2",
            "hovertemplate": "%{y:,.1f} PFLOPS·h<extra></extra>",
        },
    ]
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("Factory time"),
        y_title=_("PFLOPS in use"),
        xaxis={"type": "date", "tickformat": "%m-%d %H:%M"},
        yaxis2={
            "title": {"text": _("PFLOPS·h")},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
        margin={"r": 64},
    )
    summary = _("%(total)s PFLOPS·h used so far, at most %(peak)s PFLOPS at once.") % {
        "total": charts.amount(total[-1], 1),
        "peak": charts.amount(max(in_use), 2),
    }
    return charts.chart("compute", title=title, empty="", fig=fig, summary=summary)


# --- What-if scenarios (dispatch.scenarios' results) ---------------------------------------------------------

# A pool kind has one colour on every scenario figure; a dash tells the runs apart (the baseline is dashed).
POOL_KIND_COLOURS = dict(zip(PoolKind.values, charts.SERIES_COLOURS, strict=False))
# Two scenarios side by side: hues apart from the pool kinds' and from the status colours.
COMPARED_COLOURS = (charts.SERIES_COLOURS[6], charts.SERIES_COLOURS[5])


def slip_words(hours: float | None) -> str:
    """An ETA's move as a duration with its sign: "+1 d 4 h" later, a minus sign earlier, or "no change"."""
    if hours is None:
        return "—"
    if abs(hours) * 60 < 1:
        return _("no change")
    return ("+" if hours > 0 else "\u2212") + duration_words(timedelta(hours=abs(hours)))


def slip_group(row: dict) -> str:
    """Which way an order's ETA moved: "broken" (its promise breaks), "later", "earlier" or "same"."""
    hours = row["slip_hours"] or 0
    if row["broken"]:
        return "broken"
    if hours >= SLIP_TOLERANCE_HOURS:
        return "later"
    if hours <= -SLIP_TOLERANCE_HOURS:
        return "earlier"
    return "same"


def _order_label(row: dict) -> str:
    return row["reference"] or _("Order that may come (%(client)s)") % {"client": row["client"]}


def _slip_bars(name: str, rows: list[dict], *, marker: dict, named: bool) -> dict:
    """One bar per order row, its ETA slip in hours; the hover names the order, its client, the slip in words and
    whether its promise breaks, and the bars' name if `named`."""
    broken = _("Promise breaks")
    return {
        "type": "bar",
        "name": name,
        "x": [_order_label(row) for row in rows],
        "y": [row["slip_hours"] for row in rows],
        "marker": marker,
        "customdata": [[row["client"], slip_words(row["slip_hours"]), broken if row["broken"] else ""] for row in rows],
        "hovertemplate": "%{x} · %{customdata[0]}<br>%{customdata[1]} (%{y:,.1f} h)<br>%{customdata[2]}"
        + ("<extra>%{fullData.name}</extra>" if named else "<extra></extra>"),
    }


def _slip_figure(traces: list[dict], *, title: str, labels: list[str], **layout) -> dict:
    """Orders along x in `labels`' order, their slips up from the baseline's zero line."""
    return charts.figure(
        traces,
        title=title,
        x_title=_("Order"),
        y_title=_("ETA slip (hours, later is up)"),
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": labels},
        yaxis={"rangemode": "normal", "zeroline": True, "zerolinecolor": charts.CAPACITY_COLOUR, "zerolinewidth": 2},
        **layout,
    )


def scenario_slip(orders: list[dict]) -> dict:
    """Each order's ETA slip with the scenario's changes (hours, later is up), largest first; broken promises red."""
    title = _("ETA slip per order")
    rows = [row for row in orders if row["slip_hours"] is not None]
    rows.sort(key=lambda row: (-row["slip_hours"], _order_label(row)))
    if not rows:
        return charts.chart(
            "slip",
            title=title,
            wide=True,
            empty=_("No order has an ETA both without and with the changes, so no slip to show."),
            fig=None,
        )
    groups = {
        "broken": (_("Promise breaks"), charts.TONE_COLOURS["red"]),
        "later": (_("Later"), charts.TONE_COLOURS["amber"]),
        "earlier": (_("Earlier"), charts.TONE_COLOURS["green"]),
        "same": (_("Unchanged"), charts.TONE_COLOURS["grey"]),
    }
    labels = [_order_label(row) for row in rows]
    traces = []
    for group, (name, colour) in groups.items():
        members = [row for row in rows if slip_group(row) == group]
        if members:
            traces.append(_slip_bars(name, members, marker={"color": colour}, named=False))
    legend = {"traceorder": "normal"}
    fig = _slip_figure(traces, title=title, labels=labels, barmode="relative", height=380, legend=legend)
    counts = {group: sum(1 for row in rows if slip_group(row) == group) for group in groups}
    summary = _(
        "%(count)d orders compared: %(broken)d promises break, %(later)d later, %(earlier)d earlier; the largest "
        "slip is %(largest)s (%(order)s)."
    ) % {"count": len(rows), **counts, "largest": slip_words(rows[0]["slip_hours"]), "order": labels[0]}
    return charts.chart("slip", title=title, wide=True, empty="", fig=fig, summary=summary)


def _utilization_traces(series: list[tuple[str, dict, str]]) -> tuple[list[dict], list[str]]:
    """One line per pool kind and per run: `series` are (name, the run's figures, dash); the summary's parts."""
    kinds = dict(PoolKind.choices)
    traces, parts = [], []
    for kind, kind_label in kinds.items():
        means = []
        for name, figures, dash in series:
            utilization = figures.get("utilization") or {}
            shares = utilization.get(kind) or []
            if not any(share is not None for share in shares):
                continue
            known = [share for share in shares if share is not None]
            means.append(f"{name} {round(100 * sum(known) / len(known))}%")
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{kind_label} · {name}",
                    "legendgroup": kind,
                    "x": [charts.instant(datetime.fromisoformat(at)) for at in utilization["at"]],
                    "y": [None if share is None else round(100 * share, 1) for share in shares],
                    "line": {"color": POOL_KIND_COLOURS[kind], "dash": dash, "width": 2},
                    "hovertemplate": "%{y:.0f}%<extra>%{fullData.name}</extra>",
                }
            )
        if means:
            parts.append(f"{kind_label}: {', '.join(means)}")
    return traces, parts


def _utilization_chart(key: str, series: list[tuple[str, dict, str]]) -> dict:
    title = _("Utilization per pool kind over the horizon")
    traces, parts = _utilization_traces(series)
    if not traces:
        return charts.chart(
            key,
            title=title,
            wide=True,
            empty=_("The simulation sampled no pool's load: no pool of any kind was in service."),
            fig=None,
        )
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("Factory time"),
        y_title=_("Utilization (percent of capacity)"),
        height=400,
        hovermode="x unified",
        xaxis={"type": "date", "tickformat": "%m-%d"},
        yaxis={"ticksuffix": "%"},
        legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top"},
        margin={"r": 230, "b": 56},
    )
    summary = _("Mean utilization over the horizon: %(parts)s.") % {"parts": "; ".join(parts)}
    return charts.chart(key, title=title, wide=True, empty="", fig=fig, summary=summary)


def scenario_utilization(result: dict) -> dict:
    """Utilization per pool kind over the horizon: without the changes dashed, with them solid, one colour a kind."""
    return _utilization_chart(
        "utilization",
        [(_("without the changes"), result["baseline"], "dash"), (_("with the changes"), result["scenario"], "solid")],
    )


def compare_utilization(first: tuple[str, dict], second: tuple[str, dict]) -> dict:
    """Utilization per pool kind: the baseline (the first run's) dashed, the first scenario solid, the second dotted."""
    return _utilization_chart(
        "utilization",
        [
            (_("baseline"), first[1]["baseline"], "dash"),
            (first[0], first[1]["scenario"], "solid"),
            (second[0], second[1]["scenario"], "dot"),
        ],
    )


def _compared_orders(result: dict) -> dict:
    """{order id: row} of the result's orders in flight that have a slip (hypothetical ones have no baseline)."""
    return {row["order"]: row for row in result["orders"] if row["order"] is not None and row["slip_hours"] is not None}


def compare_slip(first: tuple[str, dict], second: tuple[str, dict]) -> dict:
    """Two scenarios' ETA slip per order side by side, against the baseline (the zero line); largest first."""
    title = _("ETA slip per order in both scenarios (0 = baseline)")
    runs = [(name, _compared_orders(result)) for name, result in (first, second)]
    orders = {order: row for _name, rows in reversed(runs) for order, row in rows.items()}
    if not orders:
        return charts.chart(
            "slip",
            title=title,
            wide=True,
            empty=_("No order has an ETA both without and with either scenario's changes, so no slip to compare."),
            fig=None,
        )

    def largest(order):
        return max(rows[order]["slip_hours"] for _name, rows in runs if order in rows)

    ordered = sorted(orders, key=lambda order: (-largest(order), orders[order]["reference"]))
    labels = [orders[order]["reference"] for order in ordered]
    traces = []
    for (name, rows), colour in zip(runs, COMPARED_COLOURS, strict=True):
        present = [rows[order] for order in ordered if order in rows]
        # A broken promise is outlined red, and said in words on hover.
        outline = {"color": [charts.TONE_COLOURS["red"] if row["broken"] else colour for row in present], "width": 2}
        traces.append(
            _slip_bars(
                name,
                present,
                marker={"color": colour, "line": outline},
                named=True,
            )
        )
    fig = _slip_figure(traces, title=title, labels=labels, barmode="group", height=400)
    summary = _("%(count)d orders: %(first)s breaks %(first_broken)d promises, %(second)s %(second_broken)d.") % {
        "count": len(ordered),
        "first": runs[0][0],
        "first_broken": sum(1 for row in runs[0][1].values() if row["broken"]),
        "second": runs[1][0],
        "second_broken": sum(1 for row in runs[1][1].values() if row["broken"]),
    }
    return charts.chart("slip", title=title, wide=True, empty="", fig=fig, summary=summary)


FAIRNESS_CHART_CLIENTS = 8  # the largest users over the year; more bars than this cannot be told apart


def fairness_months(data: selectors.Fairness) -> dict:
    """Compute each client finished per month over the last 12 months (PFLOPS·h), the largest users' bars, with
    each one's monthly budget as a dashed line of the same colour."""
    title = _("Compute per client per month, last 12 months")
    rows = sorted((row for row in data.rows if row.year_pflops_hours > 0), key=lambda row: -row.year_pflops_hours)[
        :FAIRNESS_CHART_CLIENTS
    ]
    if not rows:
        return charts.chart(
            "fairness-months",
            title=title,
            empty=_("No compute finished in the last 12 months. Each client's finished jobs count here by month."),
            fig=None,
        )
    months = [charts.instant(month) for month in data.months]
    traces = []
    for i, row in enumerate(rows):
        colour = charts.SERIES_COLOURS[i % len(charts.SERIES_COLOURS)]
        name = row.client.name
        traces.append(
            {
                "type": "bar",
                "name": name,
                "x": months,
                "y": [round(used, 1) for _month, used in row.months],
                "marker": {"color": colour},
                "hovertemplate": f"{name}<br>%{{x|%Y-%m}}: %{{y:,.0f}} PFLOPS·h<extra></extra>",
            }
        )
        if row.budget_pflops_hours is not None:
            budget_name = _("%(client)s: budget") % {"client": name}
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": budget_name,
                    "x": months,
                    "y": [row.budget_pflops_hours] * len(months),
                    "line": {"color": colour, "dash": "dash", "width": 1.5},
                    "hovertemplate": f"{budget_name}: %{{y:,.0f}} PFLOPS·h<extra></extra>",
                }
            )
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("Month (factory time)"),
        y_title=_("PFLOPS·h"),
        barmode="group",
        xaxis={"type": "date", "tickformat": "%Y-%m", "dtick": "M1"},
        yaxis={"tickformat": ",.0f"},
        height=380,
        margin={"b": 140},
    )
    top = rows[0]
    summary = _("%(client)s used the most: %(used)s PFLOPS·h over the last 12 months.") % {
        "client": top.client.name,
        "used": charts.amount(top.year_pflops_hours),
    }
    return charts.chart("fairness-months", title=title, empty="", fig=fig, summary=summary, wide=True)
