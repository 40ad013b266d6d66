"""The kinds of notice the factory sends, each declared by the app whose event it is (`<app>/notices.py`, imported
by the app's `ready()`), so that this app knows no app above it.

A kind says who may receive it (clients or staff: a client never receives a staff kind, `notifications.services`),
its words (a title and a line, `%(name)s` placeholders filled from the notice's params in the recipient's language)
and how it is e-mailed unless the person chose otherwise (`EmailChoice`).
"""

import contextlib
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

CLIENTS, STAFF = "clients", "staff"


class EmailChoice(models.TextChoices):
    IMMEDIATELY = "immediately", _("E-mail at once")
    DIGEST = "digest", _("In the daily digest")
    OFF = "off", _("Inbox only")


@dataclass(frozen=True)
class Kind:
    name: str
    audience: str  # CLIENTS or STAFF
    label: str  # what the preferences page calls it
    title: str
    line: str = ""
    email: str = EmailChoice.IMMEDIATELY
    # Params holding a code, and the choices whose label shows it: the words are the reader's, not the sender's.
    choices: dict = field(default_factory=dict)

    def words(self, params: dict) -> tuple[str, str]:
        """The title and the line, in the active language."""
        shown = dict(params)
        for name, choices in self.choices.items():
            if name in shown:
                with contextlib.suppress(ValueError):  # a code since retired shows as itself
                    shown[name] = str(choices(shown[name]).label)
        return str(self.title) % shown, str(self.line) % shown if self.line else ""


_KINDS: dict[str, Kind] = {}


def register(*kinds: Kind) -> None:
    for kind in kinds:
        _KINDS[kind.name] = kind


def kind_named(name: str) -> Kind | None:
    return _KINDS.get(name)


def kinds_for(audience: str) -> list[Kind]:
    return [kind for kind in _KINDS.values() if kind.audience == audience]
