"""Every state change of webhooks: registering and disabling endpoints, queueing an event's deliveries, sending them
with retries on the factory clock, and sending one again.

A delivery is a POST of the event as JSON, signed as Stripe signs its webhooks: the header
`Factory-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`. The secret is
the client's own, given when it registers the endpoint: the factory keeps it to sign and never shows it again. The
receiver recomputes the HMAC over the raw body, compares in constant time and refuses a `t` far from its own clock (a
replay); `Factory-Event-Id` (also the body's `id`) is the same on every attempt and every resend, for de-duplication.

Lock order: a delivery's row alone (sending); an endpoint's row, then its deliveries (disabling).
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import socket
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from factory import clock, submissions
from factory.limits import clean_text
from notifications.kinds import CLIENTS, kinds_for
from webhooks import permissions
from webhooks.errors import WebhookInvalid, WebhookTransitionNotAllowed
from webhooks.models import SECRET_MAX, SECRET_MIN, URL_MAX, Delivery, DeliveryStatus, Endpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Factory-Signature"
EVENT_ID_HEADER = "Factory-Event-Id"
USER_AGENT = "AI-Factory-Webhooks/1"
# The wait after the n-th failed attempt doubles from a factory minute up to this, within the retry window.
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=4)
# Deliveries one sweep sends at most: a receiver that times out costs WEBHOOK_TIMEOUT_SECONDS each, and the sweep
# must end within the longest task's limit (settings._LONGEST_TASK_SECONDS); the rest wait for the next sweep.
SWEEP_BATCH = 10
# What a signing secret may not hold: C0 and C1 control characters (tabs and line breaks among them) and DEL. The
# API's schema states the same rule as its pattern (webhooks.serializers).
KEY_CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
_KEY_CONTROL = re.compile(f"[{KEY_CONTROL_CHARACTERS}]")


# --- Helpers ------------------------------------------------------------------------------------------


def event_id_of(event: str) -> str:
    """The public id of an event: stable for the event (every endpoint, attempt and resend) and revealing nothing of
    the factory's own ids."""
    return "evt_" + hashlib.sha256(event.encode()).hexdigest()[:24]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Factory-Signature header's value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def client_kind_names() -> list[str]:
    """The kinds an endpoint may subscribe to, in the order they are declared."""
    return [kind.name for kind in kinds_for(CLIENTS)]


def _refused_address(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified: anything but the public Internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 address may carry its zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_multicast or not ip.is_global


def check_url(url: str) -> None:
    """An http or https URL with a host that resolves to public addresses only (unless
    settings.WEBHOOK_ALLOW_PRIVATE_URLS): the factory must not be made to call into its own network. WebhookInvalid
    on "url" otherwise. Asked at registration and again before every attempt, as a name may resolve elsewhere later."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise WebhookInvalid(
            _("Give an http or https address with a host, such as https://hooks.example.com/factory."), field="url"
        )
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return
    host = parts.hostname
    try:
        found = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookInvalid(_("The host %(host)s could not be found.") % {"host": host}, field="url") from None
    if not found or any(_refused_address(sockaddr[0]) for *_rest, sockaddr in found):
        raise WebhookInvalid(
            _("%(host)s is an address of a private network; webhooks go to public addresses only.") % {"host": host},
            field="url",
        )


def check_secret(secret) -> str:
    """The signing secret the client chose, as given (white space is part of a key, so nothing is stripped): at least
    SECRET_MIN and at most SECRET_MAX characters, not only white space, without control characters. WebhookInvalid
    on "secret" otherwise."""
    if not isinstance(secret, str) or not secret.strip():
        message = _("Give a signing secret of at least %(min)d characters: it signs each delivery.")
        raise WebhookInvalid(message % {"min": SECRET_MIN}, field="secret")
    if len(secret) < SECRET_MIN:
        message = _("Make the signing secret at least %(min)d characters long (it has %(length)d).")
        raise WebhookInvalid(message % {"min": SECRET_MIN, "length": len(secret)}, field="secret")
    if len(secret) > SECRET_MAX:
        message = _("Keep the signing secret to %(max)d characters at most (it has %(length)d).")
        raise WebhookInvalid(message % {"max": SECRET_MAX, "length": len(secret)}, field="secret")
    if _KEY_CONTROL.search(secret):
        raise WebhookInvalid(
            _("Remove the control characters (such as tabs and line breaks) from the signing secret."), field="secret"
        )
    return secret


def _secret_digest(secret: str) -> str:
    """What a registration's submission digest keeps of its secret: keyed with the site's key, so that the stored
    digest is no way to test guesses at the secret, yet the same key sent with another secret is told apart."""
    return hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()


def _kinds(kinds) -> list[str]:
    offered = client_kind_names()
    if not isinstance(kinds, list | tuple) or not kinds:
        raise WebhookInvalid(_("Choose at least one event."), field="kinds")
    for name in kinds:
        if name not in offered:
            message = _("“%(value)s” is not an event you can subscribe to.") % {"value": name}
            raise WebhookInvalid(message, field="kinds")
    return [name for name in offered if name in kinds]  # the declared order, each once


def _absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url.startswith("/") else url


def _wait_after(attempts: int) -> timedelta:
    """1, 2, 4, 8 … factory minutes after the 1st, 2nd, 3rd, 4th … failed attempt, at most LONGEST_WAIT."""
    return min(FIRST_WAIT * 2 ** min(attempts - 1, 30), LONGEST_WAIT)


def _send_on_commit(delivery_ids: list[int]) -> None:
    """Each delivery's first attempt, queued once the transaction that made it commits."""
    from webhooks import tasks  # tasks import this module

    for pk in delivery_ids:
        transaction.on_commit(partial(tasks.send_webhook.delay, pk))


# --- Endpoints ----------------------------------------------------------------------------------------


@transaction.atomic
def endpoint_register(*, client, actor, url: str, kinds, secret: str, submission_key: str | None = None) -> Endpoint:
    """Register `url` to receive the organization's events of `kinds`, signed with `secret`, the client's own
    (`check_secret`), kept to sign and never shown again. The same `submission_key` twice registers one endpoint
    (factory.submissions); with another URL, other events or another secret it is refused."""
    permissions.check_member(actor, client.pk)
    url = clean_text(url, field="url", maximum=URL_MAX, invalid=WebhookInvalid, required=_("Give the endpoint's URL."))
    secret = check_secret(secret)
    kinds = _kinds(kinds)
    check_url(url)  # last: it asks the DNS

    def register(stamp: dict) -> Endpoint:
        return Endpoint.objects.create(
            client=client,
            url=url,
            kinds=kinds,
            secret=secret,
            created_at=clock.now(),
            created_by=actor,
            **stamp,
        )

    request = {"client": client, "url": url, "kinds": kinds, "secret": _secret_digest(secret)}
    return submissions.create_once(
        Endpoint, key=submission_key, owner={"created_by": actor}, request=request, create=register
    )


@transaction.atomic
def endpoint_disable(*, endpoint: Endpoint, actor) -> Endpoint:
    """Stop sending to the endpoint for good; what it still had to receive is recorded as failed."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    permissions.check_member(actor, endpoint.client_id)
    if endpoint.disabled_at is not None:
        raise WebhookTransitionNotAllowed(_("This endpoint is already disabled."))
    endpoint.disabled_at = clock.now()
    endpoint.save(update_fields=["disabled_at"])
    endpoint.deliveries.filter(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error=_("The endpoint was disabled.")
    )
    return endpoint


# --- Deliveries ---------------------------------------------------------------------------------------


@transaction.atomic
def deliveries_queue(*, kind: str, event: str, organization_id: int, params: dict, url: str, at: datetime) -> int:
    """The organization channel (notifications.services.notify calls it once the event's transaction commits): one
    delivery of the event to each active endpoint of the organization subscribed to `kind`, sent at once on commit.
    An event told again makes no second delivery. The number of deliveries made."""
    endpoints = list(
        Endpoint.objects.filter(client_id=organization_id, disabled_at__isnull=True, kinds__contains=[kind])
    )
    if not endpoints:
        return 0
    event_id = event_id_of(event)
    payload = {"id": event_id, "event": kind, "created_at": at.isoformat(), "data": {**params, "url": _absolute(url)}}
    Delivery.objects.bulk_create(
        [
            Delivery(
                endpoint=endpoint,
                event=event,
                event_id=event_id,
                kind=kind,
                payload=payload,
                at=at,
                next_attempt_at=clock.now(),
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,
    )
    # Those made now: an endpoint that had the event already keeps its delivery, whatever became of it.
    fresh = list(
        Delivery.objects.filter(event=event, endpoint__in=endpoints, attempts=0, status=DeliveryStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _send_on_commit(fresh)
    return len(fresh)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: following it could lead past the URL rule."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    """POST `body`; the status code answered (None when there was no answer) and what went wrong, if anything."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - checked: http(s)
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as error:
        return error.code, _("The endpoint answered %(code)d.") % {"code": error.code}
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, _("No answer: %(reason)s") % {"reason": reason}


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> bool:
    """One attempt at a due, pending delivery; True once the endpoint accepted it (any 2xx).

    The row stays locked while the request goes, so two workers never send it at once; one that finds it locked
    leaves it to the other. A failed attempt waits longer each time (`_wait_after`, factory time) until
    WEBHOOK_RETRY_HOURS have passed since the first attempt; the last attempt falls at the window's end."""
    now = now or clock.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return False
        endpoint = delivery.endpoint
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        # Real time, not the factory's: the receiver compares it with its own clock to refuse replays.
        timestamp = int(timezone.now().timestamp())
        try:
            check_url(endpoint.url)
        except WebhookInvalid as refused:
            code, error = None, str(refused.message)
        else:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                EVENT_ID_HEADER: delivery.event_id,
                SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
            }
            code, error = _post(endpoint.url, body, headers)
        delivery.attempts += 1
        delivery.first_attempt_at = delivery.first_attempt_at or now
        delivery.last_status_code = code
        accepted = code is not None and 200 <= code < 300
        if accepted:
            delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.DELIVERED, now, ""
        else:
            delivery.last_error = error[:1000]
            window_ends = delivery.first_attempt_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
            if now >= window_ends:
                delivery.status = DeliveryStatus.FAILED
            else:
                delivery.next_attempt_at = min(now + _wait_after(delivery.attempts), window_ends)
            logger.info("Webhook delivery %s to endpoint %s failed: %s", delivery.pk, endpoint.pk, error)
        delivery.save(
            update_fields=[
                "attempts",
                "first_attempt_at",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
    return accepted


def deliveries_send_due(*, now: datetime | None = None) -> int:
    """Send the pending deliveries that are due, the longest waiting first, at most SWEEP_BATCH; the number
    accepted. Retries are this sweep's work: their waits are factory time, which a Celery countdown cannot follow."""
    now = now or clock.now()
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(delivery_send(delivery_id=pk, now=now) for pk in due)


@transaction.atomic
def delivery_resend(*, delivery: Delivery, actor) -> Delivery:
    """Send a delivered or failed delivery again, now, with a new retry window: the same event id, so a receiver
    that had it already can tell. Its attempts keep counting."""
    delivery = Delivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery.pk)
    permissions.check_member(actor, delivery.endpoint.client_id)
    if delivery.endpoint.disabled_at is not None:
        raise WebhookTransitionNotAllowed(_("The endpoint is disabled: nothing is sent to it any more."))
    if delivery.status == DeliveryStatus.PENDING:
        raise WebhookTransitionNotAllowed(_("This delivery is already waiting to be sent."))
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = clock.now()
    delivery.first_attempt_at = None
    delivery.save(update_fields=["status", "next_attempt_at", "first_attempt_at"])
    _send_on_commit([delivery.pk])
    return delivery
