"""Reads of webhooks for the portal and the API: a client user's own organization's endpoints and deliveries only."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from orders.access import organization_of
from webhooks.models import Delivery, DeliveryStatus, Endpoint


def endpoints_visible_to(user) -> QuerySet[Endpoint]:
    """The endpoints of the user's organization, newest first; none for anyone who is not a client user."""
    organization = organization_of(user)
    if organization is None:
        return Endpoint.objects.none()
    return Endpoint.objects.filter(client=organization).order_by("-created_at", "-id")


def endpoint_detail(*, user, pk) -> Endpoint:
    """One of the organization's endpoints; Http404 for another organization's or an unknown id."""
    try:
        return endpoints_visible_to(user).get(pk=int(pk))
    except (Endpoint.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such webhook endpoint.")) from None


def deliveries_of(endpoint: Endpoint) -> QuerySet[Delivery]:
    """The endpoint's delivery log, newest event first."""
    return Delivery.objects.filter(endpoint=endpoint).order_by("-at", "-id")


def delivery_detail(*, user, pk) -> Delivery:
    """One delivery to one of the organization's endpoints; Http404 otherwise."""
    organization = organization_of(user)
    try:
        if organization is None:
            raise Delivery.DoesNotExist
        return Delivery.objects.select_related("endpoint").get(pk=int(pk), endpoint__client=organization)
    except (Delivery.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such webhook delivery.")) from None


def endpoints_of_client(client_id: int) -> list[Endpoint]:
    """A client's endpoints for the staff's client page, each with how many of its deliveries failed or wait, in one
    query."""
    return list(
        Endpoint.objects.filter(client_id=client_id)
        .annotate(
            failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            waiting=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        )
        .order_by("-created_at", "-id")
    )
