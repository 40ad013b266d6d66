"""What-if scenarios' pages under /dispatch/scenarios/: the list, a scenario with its changes and runs, a run's
result, and two runs compared.

The dispatch and operations roles (dispatch.permissions.SCENARIO_ROLES) see and use every page; other roles get 403,
anonymous visitors the login page. Each action is one POST that calls one service through factory.actions.act: bad
input comes back on its form (400) and changes nothing; a refusal (an archived scenario, a run still going) is a
message on the scenario's page. A worker simulates a run (dispatch.tasks.run_scenario); while it goes, its page and
its scenario's page poll its progress (dispatch/js/scenario_progress.js) and open the result once it is done; without
JavaScript they say it is running and offer a reload. Reads come from dispatch.selectors, changes from
dispatch.services.
"""

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from dispatch import charts, display, scenario_changes, selectors, services
from dispatch.models import SCENARIO_HORIZON_DAYS_MAX, ChangeKind, RunState, Scenario, ScenarioRun
from dispatch.permissions import POOL_ACTION_ROLES, SCENARIO_ROLES, may_act_on_pools
from dispatch.scenario_changes import PROMOTABLE_KINDS
from factory import charts as factory_charts
from factory import clock, roles, submissions
from factory.actions import act
from factory.limits import NAME_MAX, NOTE_MAX
from orders.display import duration_words
from orders.models import Priority

LIST_PAGE_SIZE = 25
# The runs a scenario's page lists (the newest), and the finished runs a compare select offers.
RUNS_SHOWN = 50
COMPARE_CHOICES = 50
DEFAULT_HORIZON_DAYS = 90
# Two runs whose simulations started further apart than this (factory time) simulated different factories (the orders
# in flight and where each stood had moved on): the comparison says so.
SAME_START = timedelta(hours=1)

# Waiting to start = amber, simulating = green, finished = green, failed = red (UI.md); the word always goes with it.
RUN_STATE_TONE = {RunState.QUEUED: "amber", RunState.RUNNING: "green", RunState.DONE: "green", RunState.FAILED: "red"}
# What the page says beside a run's figures (dispatch.scenarios' note codes), in words.
NOTE_WORDS = {
    "no_expected_demand": gettext_lazy(
        "No order arrived in the last four weeks, so there was no expected demand for the change of the arrival "
        "rate to scale: it changed nothing."
    ),
    "more_capacity_reordered": gettext_lazy(
        "More compute made some orders later: the dispatcher places work greedily, so added room can start some "
        "work sooner and put other work behind it. The orders that slipped are listed below."
    ),
}


class ScenarioForm(forms.Form):
    """A new scenario. dispatch.services.scenario_create holds the rules (a name, a horizon within a year), and its
    refusals come back on these fields."""

    name = forms.CharField(label=gettext_lazy("Name"), required=False, widget=forms.TextInput({"maxlength": NAME_MAX}))
    horizon_days = forms.IntegerField(
        label=gettext_lazy("Horizon (days)"),
        required=False,
        initial=DEFAULT_HORIZON_DAYS,
        widget=forms.NumberInput({"min": 1, "max": SCENARIO_HORIZON_DAYS_MAX}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea({"rows": 2, "maxlength": NOTE_MAX}),
    )
    submission_key = submissions.key_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["horizon_days"].help_text = _("How far ahead the simulation looks, from 1 to %(max)d days.") % {
            "max": SCENARIO_HORIZON_DAYS_MAX
        }
        self.fields["description"].help_text = _("What the scenario tries, for whoever reads its results later.")


# --- Words and rows -------------------------------------------------------------------------------------------


def _run_url(run_id: int) -> str:
    return reverse("dispatch:scenario-run", args=[run_id])


def _scenario_url(scenario_id: int) -> str:
    return reverse("dispatch:scenario", args=[scenario_id])


def _state(state: str | None) -> dict:
    if state is None:
        return {"code": "", "label": _("Not run yet"), "tone": "grey"}
    return {"code": state, "label": RunState(state).label, "tone": RUN_STATE_TONE[state]}


def _percent(share: float | None) -> int:
    return round(100 * (share or 0))


def _rate_words(rate: float | None) -> str:
    if rate is None:
        return "—"
    value = round(100 * rate, 1)
    return formats.number_format(value, 0 if value == int(value) else 1) + "%"


def _hours_words(hours: float | None) -> str:
    return "—" if hours is None else duration_words(timedelta(hours=hours))


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _described(changes: list[dict], names: selectors.ScenarioNames) -> list[dict]:
    return [
        {
            "number": number,
            "kind": change["kind"],
            "words": scenario_changes.describe(change, pools=names.pools, sites=names.sites, clients=names.clients),
        }
        for number, change in enumerate(changes, start=1)
    ]


def _progress(run: ScenarioRun) -> dict:
    """A going run's progress bar, as the pages draw it and scenario_progress.js moves it."""
    return {
        "run": run,
        "state": _state(run.state),
        "percent": _percent(run.progress),
        "url": _run_url(run.pk),
        "progress_url": reverse("dispatch:scenario-run-progress", args=[run.pk]),
    }


def _run_label(run: ScenarioRun) -> str:
    return _("%(name)s, run %(run)s") % {"name": run.scenario.name, "run": run.pk}


# --- The list -------------------------------------------------------------------------------------------------


def _list_page(request, *, form: ScenarioForm | None = None, status: int = 200):
    archived = request.GET.get("archived") == "1"
    scenarios = selectors.scenario_list(archived=archived)
    page = Paginator(scenarios, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "scenario": scenario,
            "url": _scenario_url(scenario.pk),
            "state": _state(scenario.latest_run_state),
            "going": scenario.latest_run_state in (RunState.QUEUED, RunState.RUNNING),
            "percent": _percent(scenario.latest_run_progress),
            "run_url": _run_url(scenario.latest_run_id) if scenario.latest_run_id else "",
        }
        for scenario in page.object_list
    ]
    return render(
        request,
        "dispatch/scenario_list.html",
        {
            "archived": archived,
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "rows": rows,
            "form": form or ScenarioForm(),
        },
        status=status,
    )


@roles.role_required(*SCENARIO_ROLES)
def scenario_list(request):
    """The scenarios in use (or, with ?archived=1, the archived ones), newest first, and the form to make one."""
    return _list_page(request)


@roles.role_required(*SCENARIO_ROLES)
@require_POST
def scenario_create(request):
    def again(form):
        return _list_page(request, form=form)

    return act(
        request,
        form=ScenarioForm(request.POST),
        again=again,
        perform=lambda data: services.scenario_create(
            actor=request.user,
            name=data["name"],
            horizon_days=data["horizon_days"],
            description=data["description"],
            submission_key=submissions.clean_key(data["submission_key"]),
        ),
        success=lambda scenario: (
            _("Scenario %(name)s is made: add the changes it tries, then run it.") % {"name": scenario.name}
        ),
        back=reverse("dispatch:scenarios"),
        then=lambda scenario: _scenario_url(scenario.pk),
    )


# --- A scenario -----------------------------------------------------------------------------------------------


def _change_form(kind: str, data=None, *, names: selectors.ScenarioNames) -> forms.Form:
    """The form of one kind of change as the page shows it: its selects filled from `names` (no query of their own),
    date inputs the browser helps with, each field's label capitalised."""
    form = scenario_changes.FORMS[kind](data, prefix=kind)
    named = {"pool": names.pools, "site": names.sites, "client": names.clients}
    for name, field in form.fields.items():
        field.label = capfirst(field.label)
        if isinstance(field, forms.ModelChoiceField):
            options = sorted(named[name].items(), key=lambda item: item[1])
            field.choices = [("", _("Choose…")), *options]
        elif isinstance(field, forms.DateTimeField):
            field.widget = forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
            if not field.required:
                field.help_text = _("Leave empty for the moment the run starts.")
        elif isinstance(field, forms.DateField):
            field.widget = forms.DateInput({"type": "date"}, format="%Y-%m-%d")
    return form


def _scenario_page(
    request,
    scenario: Scenario,
    *,
    names: selectors.ScenarioNames | None = None,
    bound: dict | None = None,
    status: int = 200,
):
    """A scenario's page; `bound` is {kind: form} for a change form refused, shown again open with its errors."""
    names = names or selectors.scenario_names()
    runs = list(selectors.scenario_run_rows(scenario=scenario)[:RUNS_SHOWN])
    going = next((run for run in runs if run.going), None)
    editable = not scenario.archived
    add_forms = []
    if editable:
        for kind, label in ChangeKind.choices:
            form = (bound or {}).get(kind) or _change_form(kind, names=names)
            add_forms.append({"kind": kind, "label": label, "form": form, "open": form.is_bound})
    return render(
        request,
        "dispatch/scenario_detail.html",
        {
            "scenario": scenario,
            "editable": editable,
            "changes": _described(scenario.changes, names),
            "add_forms": add_forms,
            "runs": [
                {"run": run, "state": _state(run.state), "percent": _percent(run.progress), "url": _run_url(run.pk)}
                for run in runs
            ],
            "runs_shown": RUNS_SHOWN,
            "going": _progress(going) if going else None,
        },
        status=status,
    )


@roles.role_required(*SCENARIO_ROLES)
def scenario_detail(request, pk):
    """A scenario: its changes in words, the forms that add one of each kind, Run and Archive, and its runs."""
    return _scenario_page(request, selectors.scenario_for(pk))


@roles.role_required(*SCENARIO_ROLES)
@require_POST
def scenario_add_change(request, pk):
    scenario = selectors.scenario_for(pk)
    back = _scenario_url(scenario.pk) + "#changes"
    kind = request.POST.get("kind", "")
    names = selectors.scenario_names()
    if kind not in scenario_changes.FORMS:
        # Only a hand-made request names no kind: each form of the page sends its own.
        messages.error(request, _("Choose the kind of change to add; nothing was changed."))
        return _scenario_page(request, scenario, names=names, status=400)

    def added(changed):
        words = _described(changed.changes, names)[-1]["words"]
        return _("Change #%(number)d added: %(change)s") % {"number": len(changed.changes), "change": words}

    return act(
        request,
        form=_change_form(kind, request.POST, names=names),
        again=lambda form: _scenario_page(request, scenario, names=names, bound={kind: form}),
        perform=lambda data: services.scenario_add_change(
            scenario=scenario, actor=request.user, change={"kind": kind, **data}
        ),
        success=added,
        back=back,
    )


def _number(value: str) -> int:
    """A change's number as posted; 0 (no change has it) for anything but a number."""
    return int(value) if value.isdecimal() and len(value) <= 3 else 0


@roles.role_required(*SCENARIO_ROLES)
@require_POST
def scenario_remove_change(request, pk):
    scenario = selectors.scenario_for(pk)
    number = _number(request.POST.get("number", ""))
    return act(
        request,
        perform=lambda data: services.scenario_remove_change(scenario=scenario, actor=request.user, number=number),
        success=_("Change #%(number)d removed; the changes after it moved up.") % {"number": number},
        back=_scenario_url(scenario.pk) + "#changes",
    )


@roles.role_required(*SCENARIO_ROLES)
@require_POST
def scenario_run_start(request, pk):
    scenario = selectors.scenario_for(pk)
    return act(
        request,
        perform=lambda data: services.scenario_run_start(scenario=scenario, actor=request.user),
        success=_("The run of %(name)s is queued: this page follows it and shows the result when it is done.")
        % {"name": scenario.name},
        back=_scenario_url(scenario.pk),
        then=lambda run: _run_url(run.pk),
    )


@roles.role_required(*SCENARIO_ROLES)
@require_POST
def scenario_archive(request, pk):
    scenario = selectors.scenario_for(pk)
    return act(
        request,
        perform=lambda data: services.scenario_archive(scenario=scenario, actor=request.user),
        success=_("Scenario %(name)s is archived: it keeps its results and takes no more changes or runs.")
        % {"name": scenario.name},
        back=_scenario_url(scenario.pk),
    )


# --- A run ----------------------------------------------------------------------------------------------------


def _tiles(result: dict) -> list[dict]:
    before, after = result["baseline"], result["scenario"]
    rate_before, rate_after = before["on_time_rate"], after["on_time_rate"]
    worse = rate_before is not None and rate_after is not None and rate_after < rate_before
    return [
        {
            "key": "on_time",
            "value": f"{_rate_words(rate_before)} → {_rate_words(rate_after)}",
            "label": _("On-time rate, without → with the changes"),
            "detail": _("%(before)d late without the changes, %(after)d with them")
            % {"before": before["late"], "after": after["late"]},
            "tone": "red" if worse else "green",
            "url": "#orders",
        },
        {
            "key": "broken",
            "value": result["broken"],
            "label": _("Promises broken"),
            "detail": _("on time without the changes, late with them"),
            "tone": "red" if result["broken"] else "green",
            "url": "#orders",
        },
        {
            "key": "slipped",
            "value": result["slipped"],
            "label": _("Orders slipped"),
            "detail": _("ETA an hour or more later"),
            "tone": "amber" if result["slipped"] else "",
            "url": "#orders",
        },
        {
            "key": "gained",
            "value": result["gained"],
            "label": _("Orders gained"),
            "detail": _("ETA an hour or more earlier"),
            "tone": "green" if result["gained"] else "",
            "url": "#orders",
        },
    ]


def _wait_rows(result: dict) -> list[dict]:
    """Mean queue wait per priority, urgent first: without and with the changes, and the difference."""
    before, after = result["baseline"]["queue_wait_hours"], result["scenario"]["queue_wait_hours"]
    rows = []
    for priority in reversed(Priority.values):
        if priority not in before and priority not in after:
            continue
        hours_before, hours_after = before.get(priority), after.get(priority)
        change = None if hours_before is None or hours_after is None else hours_after - hours_before
        rows.append(
            {
                "priority": priority,
                "label": Priority(priority).label,
                "tone": display.PRIORITY_TONE.get(priority, "grey"),
                "before": _hours_words(hours_before),
                "after": _hours_words(hours_after),
                "change": charts.slip_words(change),
                "worse": change is not None and change >= charts.SLIP_TOLERANCE_HOURS,
            }
        )
    return rows


def _order_rows(result: dict) -> list[dict]:
    """Each order's row, broken promises first, then the largest slip; orders with no slip last."""
    rows = []
    for row in result["orders"]:
        group = charts.slip_group(row) if row["slip_hours"] is not None or row["broken"] else "unknown"
        rows.append(
            {
                **row,
                "url": reverse("orders:detail", args=[row["order"]]) if row["order"] is not None else "",
                "priority_label": Priority(row["priority"]).label if row["priority"] in Priority.values else "",
                "priority_tone": display.PRIORITY_TONE.get(row["priority"], "grey"),
                "due_at": _moment(row["due"]),
                "baseline_at": _moment(row["baseline_eta"]),
                "eta_at": _moment(row["eta"]),
                "slip": charts.slip_words(row["slip_hours"]),
                "group": group,
            }
        )
    rows.sort(
        key=lambda row: (
            not row["broken"],
            row["slip_hours"] is None,
            -(row["slip_hours"] or 0),
            row["reference"] or row["client"],
        )
    )
    return rows


def _result_context(run: ScenarioRun) -> dict:
    result = run.result
    chart_list = [charts.scenario_slip(result["orders"]), charts.scenario_utilization(result)]
    return {
        "result": result,
        "simulated_from": _moment(result["simulated_from"]),
        "horizon_end": _moment(result["horizon_end"]),
        "tiles": _tiles(result),
        "wait_rows": _wait_rows(result),
        "order_rows": _order_rows(result),
        "notes": [NOTE_WORDS.get(code, code) for code in result.get("notes", ())],
        "charts": chart_list,
        "figures": factory_charts.figures_by_key(chart_list),
        "compare_choices": selectors.runs_to_compare(besides=run, limit=COMPARE_CHOICES),
    }


@roles.role_required(*SCENARIO_ROLES)
def run_detail(request, pk):
    """A run: the changes it ran with and, once done, its result (tiles, figures, waits, every order); while it
    goes, its progress; when it failed, why."""
    run = selectors.run_for(pk)
    context = {
        "run": run,
        "scenario": run.scenario,
        "state": _state(run.state),
        "changes": _described(run.changes, selectors.scenario_names()),
        "going": _progress(run) if run.going else None,
    }
    if run.state == RunState.DONE:
        context.update(_result_context(run))
        context.update(_promotion_context(request, run))
    return render(request, "dispatch/scenario_run.html", context)


def _promotion_context(request, run: ScenarioRun) -> dict:
    """What of the run's changes can be made real (its pool changes: dispatch.scenario_changes.PROMOTABLE_KINDS),
    what was, and whether this person may."""
    promotable = [number for number, change in enumerate(run.changes, 1) if change["kind"] in PROMOTABLE_KINDS]
    return {
        "promotable": promotable,
        "promoted": selectors.promoted(run=run, now=clock.now()) if promotable else None,
        "may_promote": may_act_on_pools(request.user),
        "reason_max": NOTE_MAX,
    }


@roles.role_required(*POOL_ACTION_ROLES)
@require_POST
def run_promote(request, pk):
    run = selectors.run_for(pk)
    return act(
        request,
        perform=lambda data: services.scenario_promote(run=run, actor=request.user, reason=request.POST.get("reason")),
        success=lambda promotion: (
            ngettext(
                "%(count)d pool change made real: the tick carries it out when its time comes.",
                "%(count)d pool changes made real: the tick carries out each when its time comes.",
                len(promotion),
            )
            % {"count": len(promotion)}
        ),
        back=_run_url(run.pk) + "#promote",
    )


@roles.role_required(*SCENARIO_ROLES, live=True)
def run_progress(request, pk):
    """A run's state and progress, which the progress bar asks every second and a half."""
    run = selectors.run_for(pk)
    state = _state(run.state)
    return JsonResponse(
        {
            "state": run.state,
            "state_label": state["label"],
            "tone": state["tone"],
            "progress": run.progress,
            "url": _run_url(run.pk),
        }
    )


# --- Two runs compared ----------------------------------------------------------------------------------------


def _run_ids(values: list[str]) -> list[int] | None:
    """Two different run ids, or None when the query does not name exactly two."""
    if len(values) != 2 or not all(value.isdecimal() and len(value) <= 12 for value in values):
        return None
    ids = [int(value) for value in values]
    return ids if ids[0] != ids[1] else None


def _compare_picker(request, *, problem: str = "", chosen=(), status: int = 200):
    return render(
        request,
        "dispatch/scenario_compare.html",
        {
            "problem": problem,
            "choices": selectors.runs_to_compare(limit=COMPARE_CHOICES),
            "chosen": [str(value) for value in chosen],
        },
        status=status,
    )


def _figure_rows(first: ScenarioRun, second: ScenarioRun) -> list[dict]:
    a, b = first.result, second.result
    return [
        {
            "label": _("On-time rate"),
            "baseline": _rate_words(a["baseline"]["on_time_rate"]),
            "first": _rate_words(a["scenario"]["on_time_rate"]),
            "second": _rate_words(b["scenario"]["on_time_rate"]),
        },
        {
            "label": _("Late orders"),
            "baseline": a["baseline"]["late"],
            "first": a["scenario"]["late"],
            "second": b["scenario"]["late"],
        },
        *(
            {"label": label, "baseline": "—", "first": a[key], "second": b[key]}
            for key, label in (
                ("broken", _("Promises broken")),
                ("slipped", _("Orders slipped")),
                ("gained", _("Orders gained")),
            )
        ),
    ]


@roles.role_required(*SCENARIO_ROLES)
def compare(request):
    """Two finished runs (?runs=<a>&runs=<b>) against the baseline: the ETA slip per order side by side and the
    utilization per pool kind. Without two runs named, the form that picks them."""
    values = request.GET.getlist("runs")
    if not values:
        return _compare_picker(request)
    ids = _run_ids(values)
    if ids is None:
        return _compare_picker(
            request, problem=_("Choose two different finished runs to compare."), chosen=values, status=400
        )
    first, second = (selectors.run_for(run_id) for run_id in ids)
    unfinished = next((run for run in (first, second) if run.state != RunState.DONE), None)
    if unfinished is not None:
        problem = _("Run %(run)d of %(scenario)s is %(state)s: only finished runs can be compared.") % {
            "run": unfinished.pk,
            "scenario": unfinished.scenario.name,
            "state": unfinished.get_state_display().lower(),
        }
        return _compare_picker(request, problem=problem, chosen=values, status=400)
    names = selectors.scenario_names()
    labels = (_run_label(first), _run_label(second))
    chart_list = [
        charts.compare_slip((labels[0], first.result), (labels[1], second.result)),
        charts.compare_utilization((labels[0], first.result), (labels[1], second.result)),
    ]
    return render(
        request,
        "dispatch/scenario_compare.html",
        {
            "compared": [
                {"run": run, "label": label, "url": _run_url(run.pk), "changes": _described(run.changes, names)}
                for run, label in zip((first, second), labels, strict=True)
            ],
            "apart": duration_words(first.simulated_from - second.simulated_from)
            if abs(first.simulated_from - second.simulated_from) > SAME_START
            else "",
            "figure_rows": _figure_rows(first, second),
            "charts": chart_list,
            "figures": factory_charts.figures_by_key(chart_list),
            "choices": selectors.runs_to_compare(limit=COMPARE_CHOICES),
            "chosen": [str(first.pk), str(second.pk)],
        },
    )
