from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext_lazy as _


class SignInLockoutConfig(AxesConfig):
    """django-axes as installed (INSTALLED_APPS), under a name the admin shows in the reader's language: its own
    is the plain string "Axes", which no catalog can translate."""

    verbose_name = _("Sign-in lockout")
