"""What other apps keep or do about an order, shown on the order's pages: their records (after-sales tickets,
…), charts (the dispatch center's compute) and actions (the dispatch center's priority page).

Orders cannot import the apps above it, so each registers a provider at start-up (in its AppConfig.ready);
orders.extensions lists who does. A provider answers with one section, chart or action, or None when the user may
not see or do it: the rule stays with the app that owns the page the action leads to.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

STAFF = "staff"
CLIENT = "client"


@dataclass(frozen=True)
class RelatedRecord:
    reference: str
    title: str
    url: str
    status: str
    tone: str  # a status colour of UI.md: green, amber, red, grey
    note: str = ""  # what links the record to this order, or what stands out about it


@dataclass(frozen=True)
class RelatedSection:
    key: str
    title: str
    records: list[RelatedRecord]
    empty: str  # what would appear here, and how
    actions: list[tuple[str, str]] = field(default_factory=list)  # (url, label)


Provider = Callable[..., RelatedSection | None]
_providers: dict[str, Provider] = {}


def provide(key: str, provider: Provider) -> None:
    """Register `provider(user=, order=, audience=)` under `key` (registering the same key again replaces it)."""
    _providers[key] = provider


def sections_for(*, user, order, audience: str) -> list[RelatedSection]:
    """Every provider's section for this order and user; `audience` is STAFF or CLIENT (which pages)."""
    sections = (provider(user=user, order=order, audience=audience) for provider in _providers.values())
    return [section for section in sections if section is not None]


ChartProvider = Callable[..., dict | None]
_chart_providers: dict[str, ChartProvider] = {}


def provide_chart(key: str, provider: ChartProvider) -> None:
    """Register `provider(order=, now=)` → a chart (factory.charts.chart) for the staff order page."""
    _chart_providers[key] = provider


def charts_for(*, order, now) -> list[dict]:
    charts = (provider(order=order, now=now) for provider in _chart_providers.values())
    return [chart for chart in charts if chart is not None]


@dataclass(frozen=True)
class OrderAction:
    """A link among the staff order page's actions to a page of another app where the action is done."""

    key: str  # names the link for tests and scripts (data-action)
    label: str
    url: str


ActionProvider = Callable[..., OrderAction | None]
_action_providers: dict[str, ActionProvider] = {}


def provide_action(key: str, provider: ActionProvider) -> None:
    """Register `provider(user=, order=)` → an OrderAction for the staff order page, or None when this user may
    not take it on this order now (registering the same key again replaces it)."""
    _action_providers[key] = provider


def actions_for(*, user, order) -> list[OrderAction]:
    actions = (provider(user=user, order=order) for provider in _action_providers.values())
    return [action for action in actions if action is not None]
