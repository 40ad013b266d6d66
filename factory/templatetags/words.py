from decimal import Decimal

from django import template
from django.utils import formats

from factory.notes import note_words as _note_words
from factory.people import person_name

register = template.Library()


@register.filter
def note_words(note: str) -> str:
    """A timeline note in the reader's language when the factory wrote it (factory.notes)."""
    return _note_words(note or "")


@register.filter
def person(user) -> str:
    """A person's name in the reader's language when the demo simulates them (factory.people)."""
    return person_name(user) if user else ""


@register.filter
def amount(value) -> str:
    """A figure to two decimals, grouped as the reader's language groups them; "—" for none (no quote, no figure)."""
    if value is None or value == "":
        return "—"
    return formats.number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)
