"""Who may manage webhooks: the client users of the endpoint's organization, and no one else. Staff do not manage a
client's integrations (its URLs and secrets are the client's), so they are refused too. Read by the portal, the API
and webhooks.services itself."""

from django.utils.translation import gettext_lazy as _

from orders.access import organization_of
from webhooks.errors import WebhookActionNotPermitted


def is_member(user, client_id: int) -> bool:
    organization = organization_of(user) if user is not None else None
    return organization is not None and organization.pk == client_id


def check_member(user, client_id: int) -> None:
    if not is_member(user, client_id):
        raise WebhookActionNotPermitted(_("Only the organization's own people can manage its webhooks."))
