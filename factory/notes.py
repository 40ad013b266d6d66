"""Notes the factory itself writes on timelines: stored in English, shown in the reader's language.

An event keeps its note as text. A note a person types stays as typed; a note the system writes would
otherwise stay in the language of whichever request, worker or demo run wrote it, so Chinese readers met
"Security review approved (2 approvals)." in English. These are stored in English and translated, with
their counts, when shown (the `note_words` filter); a stored note that is none of them is shown as it is.
"""

import re
from dataclasses import dataclass
from functools import cached_property

from django.utils import translation
from django.utils.translation import gettext, gettext_noop, ngettext

_PLACEHOLDER = re.compile(r"%\((\w+)\)([ds])")


@dataclass(frozen=True)
class SystemNote:
    singular: str
    plural: str = ""
    count: str = "count"

    def stored(self, **params) -> str:
        """The note as kept on the event: in English, whatever language the writer reads."""
        with translation.override("en"):
            return self.words(**params)

    def words(self, **params) -> str:
        if self.plural:
            return ngettext(self.singular, self.plural, params[self.count]) % params
        return gettext(self.singular) % params

    @cached_property
    def _patterns(self) -> list[re.Pattern]:
        return [_pattern(text) for text in (self.singular, self.plural) if text]

    def read(self, note: str) -> str | None:
        """The note in the active language, or None when `note` is not this note."""
        for pattern in self._patterns:
            match = pattern.fullmatch(note)
            if match:
                return self.words(**{name: _value(value) for name, value in match.groupdict().items()})
        return None


def _pattern(text: str) -> re.Pattern:
    parts, end = [], 0
    for placeholder in _PLACEHOLDER.finditer(text):
        parts.append(re.escape(text[end : placeholder.start()]))
        name, kind = placeholder.groups()
        parts.append(rf"(?P<{name}>\d+)" if kind == "d" else rf"(?P<{name}>.+?)")
        end = placeholder.end()
    parts.append(re.escape(text[end:]))
    return re.compile("".join(parts))


def _value(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def plural_note(singular: str, plural: str) -> SystemNote:
    """A note with a count. The name is a marker for makemessages (factory/management/commands/makemessages.py)."""
    return SystemNote(singular, plural)


APPROVAL_GIVEN = SystemNote(gettext_noop("Approval %(given)d of %(required)d."))
REVIEW_APPROVED = plural_note(
    "Security review approved (%(count)d approval).", "Security review approved (%(count)d approvals)."
)
REWORK_DONE = SystemNote(gettext_noop("Rework done; the gate is open for review again."))
TRACKING_LINK_ISSUED = SystemNote(gettext_noop("New tracking link issued."))
TRACKING_LINK_REVOKED = SystemNote(gettext_noop("Tracking link revoked."))
CLIENT_REPLIED = SystemNote(gettext_noop("The client replied."))
MISSED_FIRST_RESPONSE = SystemNote(gettext_noop("Missed the first response target."))
MISSED_RESOLUTION = SystemNote(gettext_noop("Missed the resolution target."))
MISSED_BOTH = SystemNote(gettext_noop("Missed the first response and resolution targets."))
TICKET_AUTO_CLOSED = plural_note(
    "Closed automatically %(count)d day after resolution.", "Closed automatically %(count)d days after resolution."
)
SYSTEM_NOTES = (
    APPROVAL_GIVEN,
    REVIEW_APPROVED,
    REWORK_DONE,
    TRACKING_LINK_ISSUED,
    TRACKING_LINK_REVOKED,
    CLIENT_REPLIED,
    MISSED_FIRST_RESPONSE,
    MISSED_RESOLUTION,
    MISSED_BOTH,
    TICKET_AUTO_CLOSED,
)


def note_words(note: str) -> str:
    """An event's note as the reader reads it: a system note translated, anything else unchanged."""
    for system_note in SYSTEM_NOTES:
        words = system_note.read(note)
        if words is not None:
            return words
    return note
