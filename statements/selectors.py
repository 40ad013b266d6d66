"""Reading statements: who may see which, and a client's latest."""

from django.http import Http404
from django.utils.translation import gettext as _

from factory import roles
from orders.access import organization_of
from statements import permissions
from statements.models import Statement


def statements_of(client_id: int):
    """A client's statements, the latest first (with who issued them: a page lists them)."""
    return Statement.objects.filter(client_id=client_id).select_related("issued_by").order_by("-issued_at", "-id")


def statement_for_user(user, pk) -> Statement:
    """Statement `pk` if `user` may read it: staff any, a client user its organization's; else 404, so that another
    organization's statements are not known to exist."""
    statement = Statement.objects.select_related("client").filter(pk=pk).first()
    if statement is not None:
        if roles.has_role(user, *permissions.VIEW_ROLES):
            return statement
        organization = organization_of(user)
        if organization is not None and organization.pk == statement.client_id:
            return statement
    raise Http404(_("No such statement."))
