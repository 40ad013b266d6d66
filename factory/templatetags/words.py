from django import template

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
