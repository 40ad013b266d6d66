"""Telling people: `notify` records notices and queues their e-mails; the Celery tasks send them (`email_send`,
`digests_send`); the inbox marks them read.

`notify` runs inside the caller's transaction: the notices exist exactly when the event does, and the e-mails are
queued only once it commits (`transaction.on_commit`), so a refused change tells nobody anything.
"""

import logging
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, time
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from factory import clock, roles
from factory.errors import InvalidRequest
from notifications import kinds as notice_kinds
from notifications.kinds import CLIENTS, STAFF, EmailChoice
from notifications.models import Channel, Delivery, DeliveryStatus, Notice, Preference, Reader

logger = logging.getLogger(__name__)

# A delivery that failed this many times stops being retried: it stays in the record as failed.
EMAIL_ATTEMPTS = 6


def audience_of(user) -> str:
    """Staff kinds go to staff, client kinds to client users."""
    return STAFF if roles.has_role(user) else CLIENTS


def _staff_among(people: dict) -> set[int]:
    """Which of `people` (id -> user) hold a staff role, in one query whatever their number."""
    if not people:
        return set()
    return set(
        get_user_model()
        .objects.filter(Q(groups__name__in=roles.STAFF_ROLES) | Q(is_superuser=True), pk__in=list(people))
        .values_list("pk", flat=True)
    )


def staff_holding(*role_names: str) -> list:
    """The active users holding one of `role_names` (superusers are administrators, not on a rota)."""
    return list(get_user_model().objects.filter(is_active=True, groups__name__in=role_names).distinct())


# Set while events of the past are replayed (the demo's history): they make notices, but nothing is sent for them.
_replaying = ContextVar("notices_replaying", default=False)


@contextmanager
def replaying_the_past():
    """Events told inside are kept in the inboxes, dated as they happened, but neither e-mailed nor sent to webhooks:
    the people hear of the past by reading it, not by a flood of mail."""
    token = _replaying.set(True)
    try:
        yield
    finally:
        _replaying.reset(token)


# Channels that tell a client organization itself rather than its people (the webhooks): each is called with the
# event once the transaction that made it commits. Apps above this one provide them (`provide_organization_channel`).
_ORGANIZATION_CHANNELS: list[Callable[..., None]] = []


def provide_organization_channel(channel: Callable[..., None]) -> None:
    """Register `channel(kind=, event=, organization_id=, params=, url=, at=)`, called for every client kind's event
    that names its organization."""
    if channel not in _ORGANIZATION_CHANNELS:
        _ORGANIZATION_CHANNELS.append(channel)


def notify(
    *,
    kind: str,
    event: str,
    recipients: Iterable,
    params: dict | None = None,
    url: str = "",
    organization_id: int | None = None,
) -> int:
    """Tell `recipients` that `event` happened, as a notice of `kind`; the number of notices made (an event already
    told to a person makes none). Staff kinds never reach client users, nor client kinds staff. A client kind's event
    that names its client organization also goes to the organization's own channels (its webhooks) on commit."""
    declared = notice_kinds.kind_named(kind)
    if declared is None:
        raise ValueError(f"unknown notice kind {kind!r}")
    if organization_id is not None and declared.audience == CLIENTS and not _replaying.get():
        told = {"kind": kind, "event": event, "organization_id": organization_id, "params": params or {}, "url": url}
        told["at"] = clock.now()
        for channel in _ORGANIZATION_CHANNELS:
            transaction.on_commit(partial(channel, **told))
    people = {user.pk: user for user in recipients if user.is_active}
    staff = _staff_among(people)
    people = {pk: user for pk, user in people.items() if (pk in staff) == (declared.audience == STAFF)}
    if not people:
        return 0
    now = clock.now()
    Notice.objects.bulk_create(
        [
            Notice(recipient_id=pk, kind=kind, event=event, params=params or {}, url=url, created_at=now)
            for pk in people
        ],
        ignore_conflicts=True,
    )
    # Those made now: a person told of the event before keeps that notice, of an earlier time.
    notices = list(Notice.objects.filter(event=event, recipient_id__in=people, created_at=now))
    chosen = dict(Preference.objects.filter(user_id__in=people, kind=kind).values_list("user_id", "email"))
    channels = {EmailChoice.IMMEDIATELY: Channel.EMAIL, EmailChoice.DIGEST: Channel.DIGEST}
    deliveries = (
        []
        if _replaying.get()
        else [
            Delivery(notice=notice, channel=channels[choice])
            for notice in notices
            if people[notice.recipient_id].email
            and (choice := chosen.get(notice.recipient_id, declared.email)) in channels
        ]
    )
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    to_send = [delivery.notice_id for delivery in deliveries if delivery.channel == Channel.EMAIL]
    if to_send:
        from notifications import tasks  # tasks import this module

        for pk in Delivery.objects.filter(
            notice_id__in=to_send, channel=Channel.EMAIL, status=DeliveryStatus.PENDING
        ).values_list("pk", flat=True):
            transaction.on_commit(partial(tasks.send_email.delay, pk))
    return len(notices)


def language_of(user) -> str:
    """The language `user` reads the factory in (the last one they chose), else the site's."""
    reader = Reader.objects.filter(user=user).first()
    return reader.language if reader else settings.LANGUAGE_CODE


def reader_set_language(*, user, language: str) -> None:
    """Remember the language `user` chose: their e-mails are written in it."""
    if language not in dict(settings.LANGUAGES):
        raise InvalidRequest(_("Choose English or Chinese."), field="language")
    Reader.objects.update_or_create(user=user, defaults={"language": language})


def _message(user, *, subject: str, template: str, context: dict) -> EmailMultiAlternatives:
    text = render_to_string(f"notifications/{template}.txt", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(render_to_string(f"notifications/{template}.html", context), "text/html")
    return message


def _told(notice: Notice) -> dict:
    kind = notice_kinds.kind_named(notice.kind)
    title, line = kind.words(notice.params) if kind else (notice.kind, "")
    return {"notice": notice, "title": title, "line": line, "link": _absolute(notice.url)}


def _absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url and url.startswith("/") else url


def email_send(*, delivery_id: int) -> bool:
    """Send one notice's e-mail, in its recipient's language; True once sent (also when it had been already).

    The delivery stays locked while the mail goes, so two workers never both send it; each attempt and its error are
    recorded (and committed) before a failure is raised again for the task to retry, until EMAIL_ATTEMPTS."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update().select_related("notice__recipient").filter(pk=delivery_id).first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return delivery is not None and delivery.status == DeliveryStatus.SENT
        user = delivery.notice.recipient
        with translation.override(language_of(user)):
            told = _told(delivery.notice)
            message = _message(user, subject=told["title"], template="notice_email", context=told)
        delivery.attempts += 1
        try:
            message.send()
        except Exception as error:  # whatever the mail backend raises, the attempt is recorded
            failure = error
            delivery.last_error = f"{type(error).__name__}: {error}"[:1000]
            if delivery.attempts >= EMAIL_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
            logger.warning("E-mail of notice %s to user %s failed: %s", delivery.notice_id, user.pk, error)
        else:
            failure = None
            delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, clock.now(), ""
        delivery.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    if failure is not None and delivery.status == DeliveryStatus.PENDING:
        raise failure
    return failure is None


def digests_send(*, now: datetime | None = None) -> int:
    """Each person's digest of the notices they asked to get daily, sent once a factory day: the notices made before
    today began. The number of digests sent."""
    now = now or clock.now()
    today = timezone.localdate(now)
    midnight = timezone.make_aware(datetime.combine(today, time.min))
    waiting = Delivery.objects.filter(
        channel=Channel.DIGEST, status=DeliveryStatus.PENDING, notice__created_at__lt=midnight
    )
    sent = 0
    User = get_user_model()
    for user in User.objects.filter(pk__in=waiting.values("notice__recipient_id")).exclude(
        notice_reader__digest_sent_on__gte=today
    ):
        with transaction.atomic():
            mine = list(
                waiting.filter(notice__recipient=user)
                .select_for_update(of=("self",))
                .select_related("notice")
                .order_by("notice__created_at")
            )
            if not mine:
                continue
            with translation.override(language_of(user)):
                told = [_told(delivery.notice) for delivery in mine]
                subject = _("Your factory digest: %(count)d notices") % {"count": len(told)}
                message = _message(user, subject=subject, template="digest_email", context={"told": told})
            message.send()  # a failure rolls the day back: the next run tries again
            Delivery.objects.filter(pk__in=[delivery.pk for delivery in mine]).update(
                status=DeliveryStatus.SENT, sent_at=now, attempts=1
            )
            reader, _created = Reader.objects.get_or_create(user=user, defaults={"language": language_of(user)})
            reader.digest_sent_on = today
            reader.save(update_fields=["digest_sent_on"])
            sent += 1
    return sent


def notices_mark_read(*, user, notice_ids: Iterable[int] | None = None) -> int:
    """Mark `user`'s notices read: those named, or all of them. Another person's ids change nothing."""
    unread = Notice.objects.filter(recipient=user, read_at__isnull=True)
    if notice_ids is not None:
        unread = unread.filter(pk__in=list(notice_ids))
    return unread.update(read_at=clock.now())


def preferences_set(*, user, choices: dict[str, str]) -> None:
    """Set how `user` is told of each kind (kind name → EmailChoice) among the kinds of their audience."""
    allowed = {kind.name: kind for kind in notice_kinds.kinds_for(audience_of(user))}
    unknown = sorted(set(choices) - set(allowed))
    if unknown:
        raise InvalidRequest(_("Unknown kinds of notice: %(kinds)s.") % {"kinds": ", ".join(unknown)}, field="kind")
    if any(choice not in EmailChoice.values for choice in choices.values()):
        raise InvalidRequest(_("Choose how to be told."), field="email")
    with transaction.atomic():
        Preference.objects.filter(Q(user=user) & Q(kind__in=list(choices))).delete()
        Preference.objects.bulk_create(
            [
                Preference(user=user, kind=name, email=choice)
                for name, choice in choices.items()
                if choice != allowed[name].email
            ]
        )
