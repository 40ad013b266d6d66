"""Every state change of orders and their clients. Views, API, tasks and other apps call these."""

from django.db import transaction

from orders.models import ClientMembership, ClientOrganization


@transaction.atomic
def client_user_attach(*, user, organization: ClientOrganization) -> ClientMembership:
    """Make `user` a client user of `organization` (a user belongs to exactly one organization)."""
    membership, _ = ClientMembership.objects.update_or_create(user=user, defaults={"organization": organization})
    return membership
