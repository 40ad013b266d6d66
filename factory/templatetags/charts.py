"""{% plotly_locale %}: the page's plotly locale as JSON data for live.js, on pages that draw charts."""

from django import template
from django.utils.html import json_script

from factory import charts

register = template.Library()


@register.simple_tag
def plotly_locale() -> str:
    locale = charts.plotly_locale()
    return json_script(locale, "plotly-locale") if locale else ""
