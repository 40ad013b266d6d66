"""What a what-if scenario may change about the present factory, and the one rule each change is checked by.

A change is a JSON object: its `kind` (dispatch.models.ChangeKind) and the fields of that kind. The page's
forms, the API's serializer and the services all check a change with `clean_change`, so the three refuse the same
change with the same field messages. What it leaves is plain JSON (ids, ISO times, numbers), as a scenario keeps
its changes and a run keeps the changes it ran with.

Times are the factory clock's: a window ends after it starts, and after the present; a change with no `start`
takes effect from the moment the scenario runs.
"""

from datetime import date, datetime
from decimal import Decimal

from django import forms
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import PoolKind, ProductType, Size
from dispatch.errors import DispatchInvalid
from dispatch.models import ChangeKind, ComputePool, ComputeSite
from factory import clock
from factory.dates import moment_words
from orders.models import ClientOrganization, DataSensitivity, Priority

# Far beyond any pool of the provincial platform (the largest monitors a few thousand PFLOPS): a typo, not a plan.
CAPACITY_MAX = 100_000
# Hypothetical orders per change, and how far an arrival rate may be scaled.
ORDERS_MAX = 50
FACTOR_MAX = 10
# A policy parameter in hours: up to a month.
POLICY_HOURS_MAX = 24 * 30


class Parameter:
    """The dispatch policy parameters a scenario may change (dispatch.engine.planner.Policy)."""

    PREEMPTION_THRESHOLD = "preemption_threshold"
    AGING_BOUND = "aging_bound"
    CHOICES = [
        (PREEMPTION_THRESHOLD, gettext_lazy("Preemption threshold: how long high work waits before it preempts")),
        (AGING_BOUND, gettext_lazy("Aging bound: how long low work is passed over at most")),
    ]


class ScenarioChangeInvalid(DispatchInvalid):
    """A change that cannot be simulated: `errors` names each of its fields that is wrong, with its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        field, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=field)
        self.errors = errors


def _no_such(what) -> dict:
    return {"invalid_choice": what, "invalid_pk_value": what}


class _Change(forms.Form):
    """A change's fields; `clean` of each kind checks what its fields mean together."""

    start = forms.DateTimeField(label=gettext_lazy("from"), required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end <= start:
            self.add_error("end", _("The end comes after the start."))
        elif end and end <= clock.now():
            self.add_error("end", _("This window has ended already."))
        return cleaned


class _Window(_Change):
    start = forms.DateTimeField(label=gettext_lazy("from"))
    end = forms.DateTimeField(label=gettext_lazy("until"))


class _OnAPool(forms.Form):
    pool = forms.ModelChoiceField(
        ComputePool.objects.all(), label=gettext_lazy("pool"), error_messages=_no_such(gettext_lazy("No such pool."))
    )


def _capacity(label) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=CAPACITY_MAX,
        error_messages={"min_value": gettext_lazy("Give more than 0 PFLOPS.")},
    )


class PoolCapacityChange(_OnAPool, _Change):
    capacity = _capacity(gettext_lazy("new capacity (PFLOPS)"))


class NewPoolChange(_Change):
    site = forms.ModelChoiceField(
        ComputeSite.objects.all(), label=gettext_lazy("site"), error_messages=_no_such(gettext_lazy("No such site."))
    )
    pool_kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=PoolKind.choices)
    capacity = _capacity(gettext_lazy("capacity (PFLOPS)"))
    trusted = forms.BooleanField(label=gettext_lazy("trusted (may process sensitive data)"), required=False)


class PoolOfflineChange(_OnAPool, _Window):
    pass


class PoolDrainingChange(_OnAPool, _Window):
    pass


class BackgroundChange(_OnAPool, _Window):
    pflops = _capacity(gettext_lazy("extra load (PFLOPS)"))

    def clean(self):
        cleaned = super().clean()
        pool, pflops = cleaned.get("pool"), cleaned.get("pflops")
        if pool and pflops and pflops > pool.capacity_pflops:
            self.add_error(
                "pflops",
                _("Pool %(pool)s has %(capacity)s PFLOPS: the extra load cannot exceed it.")
                % {"pool": pool.name, "capacity": pool.capacity_pflops},
            )
        return cleaned


class OrdersChange(_Change):
    product_type = forms.ChoiceField(label=gettext_lazy("product"), choices=ProductType.choices)
    size = forms.ChoiceField(label=gettext_lazy("size"), choices=Size.choices)
    priority = forms.ChoiceField(label=gettext_lazy("priority"), choices=Priority.choices)
    data_sensitivity = forms.ChoiceField(label=gettext_lazy("data sensitivity"), choices=DataSensitivity.choices)
    client = forms.ModelChoiceField(
        ClientOrganization.objects.all(),
        label=gettext_lazy("client"),
        error_messages=_no_such(gettext_lazy("No such client.")),
    )
    due = forms.DateField(label=gettext_lazy("due date"))
    count = forms.IntegerField(label=gettext_lazy("how many"), min_value=1, max_value=ORDERS_MAX, required=False)

    def clean(self):
        cleaned = super().clean()
        if (due := cleaned.get("due")) and due <= clock.now().date():
            self.add_error("due", _("Give a due date after today."))
        return cleaned


class ArrivalRateChange(_Window):
    factor = forms.DecimalField(
        label=gettext_lazy("arrivals multiplied by"), max_digits=4, decimal_places=2, min_value=0, max_value=FACTOR_MAX
    )


class PolicyChange(forms.Form):
    parameter = forms.ChoiceField(label=gettext_lazy("parameter"), choices=Parameter.CHOICES)
    hours = forms.DecimalField(
        label=gettext_lazy("hours"), max_digits=6, decimal_places=2, min_value=0, max_value=POLICY_HOURS_MAX
    )


FORMS: dict[str, type[forms.Form]] = {
    ChangeKind.POOL_CAPACITY: PoolCapacityChange,
    ChangeKind.NEW_POOL: NewPoolChange,
    ChangeKind.POOL_OFFLINE: PoolOfflineChange,
    ChangeKind.POOL_DRAINING: PoolDrainingChange,
    ChangeKind.BACKGROUND: BackgroundChange,
    ChangeKind.ORDERS: OrdersChange,
    ChangeKind.ARRIVAL_RATE: ArrivalRateChange,
    ChangeKind.POLICY: PolicyChange,
}
# The pool changes a scenario may turn into real ones (dispatch.services).
PROMOTABLE_KINDS = (ChangeKind.POOL_CAPACITY, ChangeKind.NEW_POOL, ChangeKind.POOL_OFFLINE, ChangeKind.POOL_DRAINING)


def _plain(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def clean_change(data) -> dict:
    """The change as a scenario keeps it; ScenarioChangeInvalid naming each wrong field otherwise."""
    if not isinstance(data, dict):
        raise ScenarioChangeInvalid({"non_field_errors": [_("Give a change as an object with its kind.")]})
    kind = data.get("kind")
    if kind not in FORMS:
        raise ScenarioChangeInvalid({"kind": [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(FORMS)}]})
    form = FORMS[kind](data)
    if not form.is_valid():
        raise ScenarioChangeInvalid(
            {name: [str(message) for message in messages] for name, messages in form.errors.items()}
        )
    return {"kind": kind} | {name: _plain(value) for name, value in form.cleaned_data.items() if value is not None}


def describe(change: dict, *, pools: dict, sites: dict, clients: dict) -> str:
    """One line saying what a change does, in the reader's language; `pools`, `sites` and `clients` name the ids
    (dispatch.selectors.scenario_names)."""
    kind = change["kind"]
    fields = {
        "pool": pools.get(change.get("pool"), "?"),
        "site": sites.get(change.get("site"), "?"),
        "client": clients.get(change.get("client"), "?"),
        "start": _moment(change.get("start")),
        "end": _moment(change.get("end")),
        **{name: _figure(change.get(name)) for name in ("capacity", "pflops", "factor", "hours")},
        "due": change.get("due"),
    }
    if kind == ChangeKind.POOL_CAPACITY:
        return _("%(pool)s at %(capacity)s PFLOPS from %(start)s") % fields
    if kind == ChangeKind.NEW_POOL:
        return _("A new %(kind)s pool of %(capacity)s PFLOPS at %(site)s from %(start)s") % {
            **fields,
            "kind": PoolKind(change["pool_kind"]).label,
        }
    if kind == ChangeKind.POOL_OFFLINE:
        return _("%(pool)s offline from %(start)s until %(end)s") % fields
    if kind == ChangeKind.POOL_DRAINING:
        return _("%(pool)s draining from %(start)s until %(end)s") % fields
    if kind == ChangeKind.BACKGROUND:
        return _("%(pflops)s PFLOPS more background load on %(pool)s from %(start)s until %(end)s") % fields
    if kind == ChangeKind.ORDERS:
        words = _("%(count)s × %(size)s %(product)s, %(priority)s, %(sensitivity)s, for %(client)s, due %(due)s")  # noqa: RUF001
        return words % {
            **fields,
            "count": change.get("count", 1),
            "size": Size(change["size"]).label,
            "product": ProductType(change["product_type"]).label,
            "priority": Priority(change["priority"]).label,
            "sensitivity": DataSensitivity(change["data_sensitivity"]).label,
        }
    if kind == ChangeKind.ARRIVAL_RATE:
        return _("Arrivals × %(factor)s from %(start)s until %(end)s") % fields  # noqa: RUF001
    return _("%(parameter)s: %(hours)s h") % {**fields, "parameter": dict(Parameter.CHOICES)[change["parameter"]]}


def _figure(value) -> str:
    """A number as the reader's language writes it, without a fraction it does not have: 600, 1,250, 1.5."""
    if value is None:
        return ""
    places = 0 if float(value).is_integer() else 2
    return formats.number_format(round(float(value), places), places, use_l10n=True, force_grouping=True)


def _moment(value) -> str:
    if not value:
        return _("the start")
    return moment_words(datetime.fromisoformat(value))
