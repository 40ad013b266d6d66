"""The order page's Gantt of steps: what ran when, what runs now, and the rest laid out as planned."""

from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from catalog.models import Workshop
from factory import charts
from orders.display import duration_words
from orders.models import Order, StepStatus

PLANNED_COLOUR = "#c9ced6"


def _bar(name: str, colour: str, **extra) -> dict:
    return {
        "type": "bar",
        "orientation": "h",
        "name": name,
        "y": [],
        "base": [],
        "x": [],
        "text": [],
        "textposition": "none",
        "marker": {"color": colour, **extra.pop("marker", {})},
        "hovertemplate": "%{text}<extra></extra>",
        **extra,
    }


def _add(trace: dict, label: str, start: datetime, end: datetime, text: str) -> None:
    trace["y"].append(label)
    trace["base"].append(charts.instant(start))
    trace["x"].append(max((end - start).total_seconds(), 60) * 1000)
    trace["text"].append(text)


def step_gantt(order: Order, now: datetime) -> dict:
    """From the prefetched stages and steps (no query). Steps not started are planned one after the other
    from now, by their nominal duration."""
    title = _("Steps over time")
    stages = list(order.stages.all())
    if not any(step.started_at for stage in stages for step in stage.steps.all()):
        return charts.chart(
            "steps",
            title=title,
            empty=_("No step has started yet. Steps appear here as they run, and the rest as planned."),
            fig=None,
            wide=True,
        )
    labels = dict(Workshop.choices)
    done = {workshop: _bar(labels[workshop], charts.WORKSHOP_COLOURS[workshop]) for workshop in Workshop.values}
    running = _bar(_("Running"), charts.TONE_COLOURS["green"], marker={"pattern": {"shape": "/"}})
    planned = _bar(_("Planned"), PLANNED_COLOUR, marker={"pattern": {"shape": "."}})
    cursor = now
    rows = []
    running_word, planned_word = _("running"), _("planned")
    for stage in stages:
        for step in stage.steps.all():
            label = f"{stage.position}.{step.position} {step.display_name}"
            rows.append(label)
            nominal = timedelta(hours=float(step.nominal_hours))
            what = f"{labels[stage.workshop]} · {step.display_name}"
            if step.status == StepStatus.DONE and step.started_at and step.finished_at:
                took = duration_words(step.finished_at - step.started_at)
                _add(done[stage.workshop], label, step.started_at, step.finished_at, f"{what}<br>{took}")
            elif step.status == StepStatus.RUNNING and step.started_at:
                _add(running, label, step.started_at, now, f"{what}<br>{running_word}")
                cursor = max(cursor, step.started_at + nominal)
            elif step.status != StepStatus.DONE:
                _add(planned, label, cursor, cursor + nominal, f"{what}<br>{planned_word}")
                cursor += nominal
    traces = [trace for trace in (*done.values(), running, planned) if trace["y"]]
    fig = charts.figure(
        traces,
        title=title,
        x_title=_("Factory time"),
        y_title=_("Step"),
        barmode="overlay",
        height=min(1400, 170 + 16 * len(rows)),
        xaxis={"type": "date", "tickformat": "%m-%d", "hoverformat": "%Y-%m-%d %H:%M"},
        yaxis={"autorange": "reversed", "type": "category", "rangemode": "normal", "categoryarray": rows},
        shapes=[charts.now_line(now)],
    )
    summary = _("%(done)d of %(steps)d steps done, %(running)d running; the rest as planned from now.") % {
        "done": sum(len(trace["y"]) for trace in done.values()),
        "steps": len(rows),
        "running": len(running["y"]),
    }
    return charts.chart("steps", title=title, empty="", fig=fig, summary=summary, wide=True)
