"""The client portal's webhooks: the organization's endpoints and registering one (with the client's own signing
secret, never shown again), one endpoint with its delivery log, disabling it and sending a delivery again.

Every page is for client users only (staff get 403, anonymous visitors the login page) and shows only the
organization's own endpoints (another organization's answers 404). Views stay thin: read through
webhooks.selectors, call one service through factory.actions.act.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from factory import submissions
from factory.actions import act
from notifications.kinds import CLIENTS, kinds_for
from orders.access import require_organization
from webhooks import selectors, services
from webhooks.models import DeliveryStatus
from webhooks.portal_forms import EndpointRegisterForm

PAGE_SIZE = 25
# Colour with a word, as everywhere: waiting = amber, done = green, given up = red.
STATUS_TONE = {DeliveryStatus.PENDING: "amber", DeliveryStatus.DELIVERED: "green", DeliveryStatus.FAILED: "red"}


def _labels() -> dict[str, str]:
    return {kind.name: kind.label for kind in kinds_for(CLIENTS)}


def _endpoint_row(endpoint, labels: dict) -> dict:
    return {"endpoint": endpoint, "kinds": [labels.get(name, name) for name in endpoint.kinds]}


def _render_list(request, form, *, status=200):
    organization = require_organization(request.user)
    labels = _labels()
    endpoints = [_endpoint_row(endpoint, labels) for endpoint in selectors.endpoints_visible_to(request.user)]
    context = {"organization": organization, "rows": endpoints, "form": form}
    return render(request, "webhooks/list.html", context, status=status)


@login_required
def endpoint_list(request):
    """The organization's endpoints, and the form that registers one (POST)."""
    require_organization(request.user)
    if request.method != "POST":
        return _render_list(request, EndpointRegisterForm())
    form = EndpointRegisterForm(request.POST)
    return act(
        request,
        form=form,
        perform=lambda data: services.endpoint_register(
            client=require_organization(request.user),
            actor=request.user,
            url=data["url"],
            kinds=data["kinds"],
            secret=data["secret"],
            submission_key=submissions.clean_key(data["submission_key"]),
        ),
        success=_(
            "The endpoint is registered. Check each delivery's signature with the secret you gave: it is not shown "
            "again."
        ),
        back=reverse("client_webhooks:list"),
        again=lambda form: _render_list(request, form),
        then=lambda endpoint: reverse("client_webhooks:endpoint", args=[endpoint.pk]),
    )


@login_required
def endpoint_page(request, pk):
    """One endpoint: where it points, what it receives, how to check its signatures (never its secret), and its
    delivery log, newest first."""
    organization = require_organization(request.user)
    endpoint = selectors.endpoint_detail(user=request.user, pk=pk)
    labels = _labels()
    page = Paginator(selectors.deliveries_of(endpoint), PAGE_SIZE).get_page(request.GET.get("page"))
    deliveries = [
        {
            "delivery": delivery,
            "kind": labels.get(delivery.kind, delivery.kind),
            "tone": STATUS_TONE.get(delivery.status, "grey"),
            "can_resend": endpoint.active and delivery.status != DeliveryStatus.PENDING,
        }
        for delivery in page.object_list
    ]
    context = {
        "organization": organization,
        **_endpoint_row(endpoint, labels),
        "page": page,
        "deliveries": deliveries,
        "signature_header": services.SIGNATURE_HEADER,
        "event_id_header": services.EVENT_ID_HEADER,
        "retry_hours": settings.WEBHOOK_RETRY_HOURS,
    }
    return render(request, "webhooks/endpoint.html", context)


@login_required
@require_POST
def endpoint_disable(request, pk):
    require_organization(request.user)
    endpoint = selectors.endpoint_detail(user=request.user, pk=pk)
    return act(
        request,
        perform=lambda _data: services.endpoint_disable(endpoint=endpoint, actor=request.user),
        success=_("The endpoint is disabled: nothing more is sent to it."),
        back=reverse("client_webhooks:endpoint", args=[endpoint.pk]),
    )


@login_required
@require_POST
def delivery_resend(request, pk):
    require_organization(request.user)
    delivery = selectors.delivery_detail(user=request.user, pk=pk)
    return act(
        request,
        perform=lambda _data: services.delivery_resend(delivery=delivery, actor=request.user),
        success=_("The event is being sent again, with the same event id."),
        back=reverse("client_webhooks:endpoint", args=[delivery.endpoint_id]),
    )
