from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = _("Security")

    def ready(self):
        # The kinds of notice the security center sends, known to the preferences page before any is sent.
        from security import notices  # noqa: F401
