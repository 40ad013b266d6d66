from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


class FactoryConfig(AppConfig):
    """The project's own plumbing (settings, roles, the API's authentication) and one table: when each periodic
    task last ran (factory.heartbeats)."""

    name = "factory"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from rest_framework.authtoken.models import Token

        from factory.authentication import accounts_changed

        user_model = get_user_model()
        for model in (user_model, Token, Group):
            post_save.connect(accounts_changed, sender=model, dispatch_uid=f"accounts-changed-save-{model.__name__}")
            post_delete.connect(accounts_changed, sender=model, dispatch_uid=f"accounts-changed-del-{model.__name__}")
        m2m_changed.connect(accounts_changed, sender=user_model.groups.through, dispatch_uid="accounts-changed-groups")
