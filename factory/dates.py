"""Dates and instants in words for Python-built text (flash messages, notes, emails, CSV).

Templates use the `date` filter with the same named formats; both read the active language's
DATE_FORMAT and DATETIME_FORMAT (factory/formats), so a date reads the same on every page.
"""

from datetime import date, datetime

from django.utils import timezone
from django.utils.formats import date_format


def day_words(day: date | datetime) -> str:
    """A calendar day as the active language writes it; an instant is read in the site's time zone."""
    if isinstance(day, datetime):
        day = timezone.localtime(day).date()
    return date_format(day, "DATE_FORMAT")


def moment_words(moment: datetime) -> str:
    """An instant as the active language writes it, in the site's time zone."""
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")
