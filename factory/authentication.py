"""API token authentication, kept in the shared cache (factory.kept).

The API's most-read answers are served from copies (orders.read_cache); what remained of a call's cost was
finding the caller: the token, its user and the user's staff roles. So a token's resolution is kept for
API_TOKEN_CACHE_SECONDS: the user's id, names, flags and roles, never the password hash, under a hash of
the token (a dump of the cache holds no usable token). Any change to a user, a token or a group (saved,
deleted, groups added or removed, in the admin or anywhere through the ORM) refuses every kept resolution
at once; only a bulk SQL update waits out their lifetime. Signals, not services: these are Django's own
models, changed by its admin; this is cache coherence, not business flow.

Its own module: DRF imports the authentication classes while rest_framework.views is still loading, so
this must not import anything that imports DRF's views (factory.api does).
"""

import hashlib
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

from factory import kept, roles

# What a request needs of its user. Not the password hash, which must not sit in a cache (the fields left
# out are deferred: read on first use, and a save writes only the fields loaded).
_USER_FIELDS = {"id", "username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser"}
_ANY_ACCOUNT_CHANGED = "api-token:changed"
# In every copy's key: a release that changes what a copy holds bumps it, and never reads an older copy.
_SHAPE = 1


@cache
def _user_fields() -> list[str]:
    # In the model's order, which Model.from_db expects of a partial row.
    return [field.attname for field in get_user_model()._meta.concrete_fields if field.attname in _USER_FIELDS]


@cache
def _user_by_token_sql() -> str:
    """The one query that finds a token's user and the user's staff roles."""
    user_model, token_model = get_user_model(), authentication.TokenAuthentication().get_model()
    quote = connection.ops.quote_name
    columns = ", ".join(f"u.{quote(user_model._meta.get_field(name).column)}" for name in _user_fields())
    user_table, group_table, token_table, membership_table = (
        quote(model._meta.db_table) for model in (user_model, Group, token_model, user_model.groups.through)
    )
    # Only table and column names from the models' metadata are put in; the values are parameters.
    return (
        f"SELECT {columns}, "  # noqa: S608  # nosec B608
        f"ARRAY(SELECT g.name FROM {group_table} g JOIN {membership_table} ug ON ug.group_id = g.id "
        f"WHERE ug.user_id = u.id AND g.name = ANY(%s)) "
        f"FROM {token_table} t JOIN {user_table} u ON u.id = t.user_id WHERE t.key = %s"
    )


def _copy_key(key: str) -> str:
    return f"api-token:{_SHAPE}:{hashlib.sha256(key.encode()).hexdigest()}"


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication: from the kept resolution when there is one, else in one plain query
    that also reads the user's staff roles (the role checks that follow find them on the user)."""

    def authenticate(self, request):
        self.request = request  # DRF makes an authenticator per request
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        seconds = settings.API_TOKEN_CACHE_SECONDS
        copy_key = _copy_key(key)
        found = kept.fetch(copy_key, [_ANY_ACCOUNT_CHANGED], request=self.request) if seconds > 0 else None
        if found is None:
            read_at = kept.reading_starts()
            with connection.cursor() as cursor:
                cursor.execute(_user_by_token_sql(), [list(roles.STAFF_ROLES), key])
                row = cursor.fetchone()
            if row is None:
                raise AuthenticationFailed(_("Invalid token."))
            found = (tuple(row[:-1]), tuple(row[-1]))
            if seconds > 0:
                kept.keep(copy_key, found, read_at=read_at, seconds=seconds)
        values, role_names = found
        user = get_user_model().from_db(connection.alias, _user_fields(), values)
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        roles.remember_roles(user, role_names)
        return user, self.get_model()(key=key, user=user)


def accounts_changed(*, sender, update_fields=None, **kwargs) -> None:
    """Receiver: a user, token or group changed; refuse every kept token resolution."""
    if settings.API_TOKEN_CACHE_SECONDS <= 0:
        return
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a sign-in; nothing a kept resolution holds
    kept.mark_changed([_ANY_ACCOUNT_CHANGED])
