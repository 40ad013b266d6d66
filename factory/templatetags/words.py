from django import template

from factory.notes import note_words as _note_words

register = template.Library()


@register.filter
def note_words(note: str) -> str:
    """A timeline note in the reader's language when the factory wrote it (factory.notes)."""
    return _note_words(note or "")
