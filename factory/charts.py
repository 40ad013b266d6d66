"""The one look of every plotly figure (UI.md "Charts"): colours, titles, axes, hover, and JSON for the page.

Figures are built in Python with plotly's graph objects and drawn in the browser by the plotly.js of the
installed package. A figure with no data is not drawn: the page shows its empty state instead.
"""

import json
from datetime import date, datetime

import plotly.graph_objects as go
from django.utils import formats, timezone, translation
from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop
from plotly.utils import PlotlyJSONEncoder

# Workshops have the same colour everywhere (the CSS variables --ws-*): Okabe-Ito, colour-blind safe.
WORKSHOP_COLOURS = {"data": "#0072b2", "model": "#e69f00", "agent": "#009e73", "integration": "#cc79a7"}
# Status colours mean the same everywhere: on track = green, waiting/at risk = amber, late = red.
TONE_COLOURS = {"green": "#17732f", "amber": "#b7791f", "red": "#b42318", "grey": "#8a94a3"}
# Series that are not workshops (pools, sites, product types), in order: twelve hues a person tells apart side by
# side (each pair at least 30 apart in CIELAB), none of them the muted background band or the capacity line.
SERIES_COLOURS = [
    "#1f4e8c",
    "#e69f00",
    "#117733",
    "#882255",
    "#ddcc77",
    "#44aa99",
    "#332288",
    "#8c564b",
    "#56b4e9",
    "#66a61e",
    "#d55e00",
    "#cc79a7",
]
CAPACITY_COLOUR = "#1b2430"
BACKGROUND_LOAD_COLOUR = "#c9ced6"  # other tenants' load: a muted band under ours
LEGEND_OFFSET_PX = 62
# plotly.js's own words on our charts (toolbar, notices); the installed package ships no Chinese for them, so
# they are translated with the site's messages and registered as a plotly locale (live.js).
PLOTLY_WORDS = [
    gettext_noop("Download plot"),
    gettext_noop("Download plot as a PNG"),
    gettext_noop("Download plot as JSON"),
    gettext_noop("Zoom"),
    gettext_noop("Pan"),
    gettext_noop("Zoom in"),
    gettext_noop("Zoom out"),
    gettext_noop("Autoscale"),
    gettext_noop("Reset axes"),
    gettext_noop("Double-click to zoom back out"),
    gettext_noop("Double-click on legend to isolate one trace"),
    gettext_noop("Preparing image - this may take a few seconds"),
    gettext_noop("Image download succeeded"),
    gettext_noop("Sorry, there was a problem downloading your image!"),
]
PLOTLY_LOCALE_NAMES = {"zh-hans": "zh-CN"}  # English is plotly's own
# The stylesheet's stack (factory.css), so that a chart's Chinese renders in the same CJK font as the page.
FONT = (
    "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', "
    "'Noto Sans CJK SC', 'Noto Sans SC', 'WenQuanYi Micro Hei', sans-serif"
)


def layout(*, title: str, x_title: str = "", y_title: str = "", **extra) -> dict:
    """The shared layout: title, axis titles with units, legend under the plot, room for both languages."""
    base = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": FONT, "size": 12, "color": "#1b2430"},
        "margin": {"l": 56, "r": 16, "t": 44, "b": 96},
        "height": 340,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "legend": {"orientation": "h", "yanchor": "top", "x": 0},
        "xaxis": {"title": {"text": x_title}, "gridcolor": "#e3e7ec", "automargin": True},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#e3e7ec", "automargin": True, "rangemode": "tozero"},
        # Keeps the user's zoom and hidden series when live updates redraw the figure (Plotly.react).
        "uirevision": "keep",
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    # The legend sits a fixed distance under the plot (below tick labels and axis title), whatever the height.
    plot_height = base["height"] - base["margin"]["t"] - base["margin"]["b"]
    base["legend"].setdefault("y", -LEGEND_OFFSET_PX / plot_height)
    return base


def instant(moment: datetime | date) -> str:
    """A point on a time axis as the factory's wall time (TIME_ZONE), the time the page's clock and tables show.

    plotly.js ignores an ISO offset and draws the wall time it is given: a UTC instant would sit 8 hours off.
    """
    if isinstance(moment, datetime) and timezone.is_aware(moment):
        moment = timezone.localtime(moment).replace(tzinfo=None)
    return moment.isoformat()


def _plain(value):
    """Lazy translations (choice labels) as the strings plotly's validators accept; instants as `instant`."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, date):
        return instant(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def figure(traces, **layout_kwargs) -> dict:
    """A figure as plain JSON-ready data for Plotly.newPlot/react.

    Not passed through plotly.graph_objects here: its validation deep-copies every point and costs tens of
    milliseconds per page. The tests check every figure the pages draw with `validate`.
    """
    fig = {"data": _plain(list(traces)), "layout": _plain(layout(**layout_kwargs))}
    return json.loads(json.dumps(fig, cls=PlotlyJSONEncoder))


def validate(fig: dict) -> None:
    """Raise ValueError when `fig` is not a figure plotly accepts (used by the tests)."""
    go.Figure(fig)


def chart(key: str, *, title: str, empty: str, fig: dict | None, summary: str = "", wide: bool = False) -> dict:
    """A chart as a page shows it: its element id, title, the figure or None, its empty state, and whether
    it spans both columns of the dashboard grid. `summary` is the figure's text alternative (UI.md
    "Accessibility"): one line a screen reader reads instead of the drawing, from the data the figure draws."""
    return {"key": key, "title": title, "figure": fig, "summary": summary, "empty": empty, "wide": wide}


def figures_by_key(chart_list: list[dict]) -> dict:
    """{key: figure or None}: what a page embeds for live.js, and what its live endpoint answers."""
    return {chart["key"]: chart["figure"] for chart in chart_list}


def summaries_by_key(chart_list: list[dict]) -> dict:
    """{key: summary}: the text alternatives a live endpoint answers beside its figures."""
    return {chart["key"]: chart["summary"] for chart in chart_list}


def amount(value: float, decimals: int = 0) -> str:
    """A figure as the page's language writes it, with thousands separators (for summaries)."""
    return formats.number_format(round(value, decimals), decimals, force_grouping=True)


def now_line(now) -> dict:
    """A dotted vertical line at the factory clock's now, for time axes."""
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": now.isoformat(),
        "x1": now.isoformat(),
        "y0": 0,
        "y1": 1,
        "line": {"color": CAPACITY_COLOUR, "width": 1, "dash": "dot"},
    }


def plotly_locale() -> dict | None:
    """The current language as a plotly.js locale module (for Plotly.register and config.locale), or None
    when plotly speaks it already. Month and day names come from Django's own translations."""
    name = PLOTLY_LOCALE_NAMES.get(translation.get_language())
    if name is None:
        return None
    sunday_first = [6, 0, 1, 2, 3, 4, 5]  # Django's weeks start on Monday, plotly's on Sunday
    return {
        "moduleType": "locale",
        "name": name,
        "dictionary": {word: gettext(word) for word in PLOTLY_WORDS},
        "format": {
            "days": [str(WEEKDAYS[day]) for day in sunday_first],
            "shortDays": [str(WEEKDAYS_ABBR[day]) for day in sunday_first],
            "months": [str(MONTHS[month]) for month in range(1, 13)],
            "shortMonths": [str(MONTHS_3[month]) for month in range(1, 13)],
        },
    }
