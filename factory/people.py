"""People's names as pages show them, with the demo's simulated staff under a label in the reader's language.

The demo's simulated staff and clients are user rows named "Operations" + "(simulated)" and so on
(demo.staff): their stored names would stay in English on Chinese pages, so they are shown by these labels.
"""

from django.utils.translation import gettext_lazy as _

SIMULATED_SURNAME = "(simulated)"
# A simulated user's first name → the label timelines show.
SIMULATED_LABELS = {
    "Operations": _("Operations (simulated)"),
    "Reviewer 1": _("Reviewer 1 (simulated)"),
    "Reviewer 2": _("Reviewer 2 (simulated)"),
    "After-sales": _("After-sales (simulated)"),
    "Client": _("Client (simulated)"),
}


def person_name(user) -> str:
    """The name to show for `user`: a simulated user's label, else the full name, else the username."""
    if user.last_name == SIMULATED_SURNAME and user.first_name in SIMULATED_LABELS and not user.has_usable_password():
        return str(SIMULATED_LABELS[user.first_name])
    return user.get_full_name() or user.get_username()
