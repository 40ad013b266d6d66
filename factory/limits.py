"""How long the texts people write may be, in characters: one name for each kind of text.

The model field (`max_length`), the form and the serializer that take the text and the service that checks it
all read these, so a page, the API and a service refuse the same text. Changing a limit that a model field reads
needs a migration (`makemigrations` says so). `clean_text` is the one check every service applies to a text.
"""

import re

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from factory.errors import InvalidRequest

# An order's title, a ticket's subject.
TITLE_MAX = 200
# A what-if scenario's name.
NAME_MAX = 120
# A reason (rejecting, cancelling, sending back, changing a priority or a pool's state), a comment with a rating,
# a severity change's reason, a review's checklist note or finding.
NOTE_MAX = 2000
# A ticket's message, a note to the client with a ticket's status move, a requirement change.
MESSAGE_MAX = 5000
# An order's requirements.
REQUIREMENTS_MAX = 10_000
# A form's one-time submission key or an API call's Idempotency-Key (factory.submissions).
SUBMISSION_KEY_MAX = 64


# Characters no text here needs and some layers refuse (Postgres cannot store NUL): C0 controls but tab and
# line breaks, and DEL.
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # a regex class's inside; factory.schema states it too
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


def clean_text(
    value, *, field: str, maximum: int, invalid: type[InvalidRequest] = InvalidRequest, required: str = ""
) -> str:
    """A text someone wrote, stripped, as a service keeps it; or `invalid` naming `field`.

    Every service checks its texts here, whoever calls it (a page, the API, a task), so a page that passes the
    raw POST is as safe as a form: control characters are refused, the length is bounded, and an empty text is
    refused with the message `required` when one is given.
    """
    if not isinstance(value, str | None):
        raise invalid(_("Write text here."), field=field)
    value = (value or "").strip()
    if required and not value:
        raise invalid(required, field=field)
    if len(value) > maximum:
        raise invalid(
            ngettext("Keep it under %(max)d character.", "Keep it under %(max)d characters.", maximum)
            % {"max": maximum},
            field=field,
        )
    if _CONTROL.search(value):
        raise invalid(_("Remove the control characters (such as NUL) from the text."), field=field)
    return value
