from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# django-axes names its models through gettext, and its catalog has no Chinese. Django looks a msgid up in every
# catalog, ours first: these marks keep the same msgids, with their Chinese, in ours.
AXES_MODEL_NAMES = (
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
)


class SignInLockoutConfig(AxesConfig):
    """django-axes as installed (INSTALLED_APPS), under a name the admin shows in the reader's language: its own
    is the plain string "Axes", which no catalog can translate."""

    verbose_name = _("Sign-in lockout")
