"""Records other apps keep about an order (after-sales tickets, …), listed on the order's pages.

Orders cannot import the apps above it, so each registers a provider at start-up (in its AppConfig.ready),
as dispatch does for quotes. A provider answers with one section, or None when the user may not see it.
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
