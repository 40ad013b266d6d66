"""Notices by e-mail, against a real SMTP server on loopback (aiosmtpd): retried while the server refuses, sent
once, in the recipient's language, as text and HTML."""

from email import message_from_bytes, policy

import pytest

from factory import roles
from notifications import services, tasks
from notifications.models import Channel, Delivery, DeliveryStatus, Notice
from orders.models import OrderStatus
from tests.factories import UserFactory, client_user, order_at

pytestmark = pytest.mark.django_db


def _message(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)


def _accepted_order_mail(ops_user, org_a, *, email="lin@hospital.example.cn", language=None, **overrides):
    """Client A's person, and the e-mail delivery of their order's acceptance notice."""
    person = client_user(organization=org_a, username="lin", email=email)
    if language:
        services.reader_set_language(user=person, language=language)
    order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=person, **overrides)
    return person, Delivery.objects.get(notice__recipient=person, notice__kind="order_accepted")


def test_a_refused_email_is_retried_with_backoff_and_sent_exactly_once(smtp_sink, ops_user, org_a):
    smtp_sink.failures = 2
    person, delivery = _accepted_order_mail(ops_user, org_a, title="胸部影像辅助诊断模型")

    tasks.send_email.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert smtp_sink.refused == 2
    assert len(smtp_sink.received) == 1
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 3
    assert smtp_sink.received[0].rcpt_tos == [person.email]
    # Asked again (a retry that crossed the success, a redelivered message): nothing goes out twice.
    tasks.send_email.apply(args=[delivery.pk])
    assert len(smtp_sink.received) == 1
    assert tasks.send_email.retry_backoff == 30


def test_the_email_is_in_the_recipients_language_as_text_and_html(smtp_sink, ops_user, org_a):
    _person, delivery = _accepted_order_mail(ops_user, org_a, language="zh-hans", title="胸部影像辅助诊断模型")

    tasks.send_email.apply(args=[delivery.pk])

    sent = _message(smtp_sink.received[0])
    assert "已受理" in sent["Subject"]
    assert delivery.notice.params["reference"] in sent["Subject"]
    assert "胸部影像辅助诊断模型" in sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert "胸部影像辅助诊断模型" in html
    assert f"/portal/orders/{Notice.objects.get(pk=delivery.notice_id).url.split('/')[-2]}/" in html


def test_an_email_that_keeps_failing_is_recorded_as_failed_and_stays_in_the_inbox(smtp_sink, ops_user, org_a):
    smtp_sink.failures = 100
    person, delivery = _accepted_order_mail(ops_user, org_a)

    tasks.send_email.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == services.EMAIL_ATTEMPTS
    assert "451" in delivery.last_error
    assert smtp_sink.received == []
    assert Notice.objects.filter(recipient=person, read_at__isnull=True).count() == 1


def test_the_daily_digest_gathers_yesterdays_notices_in_one_email(smtp_sink, ops_user, org_a, move_clock):
    person = client_user(organization=org_a, username="lin", email="lin@hospital.example.cn")
    services.preferences_set(user=person, choices={"order_accepted": "digest", "order_delivered": "digest"})
    first = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=person)
    second = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=person)
    assert not Delivery.objects.filter(channel=Channel.EMAIL, notice__recipient=person).exists()

    assert services.digests_send() == 0  # today's notices wait for tomorrow's digest
    move_clock(days=1)
    assert services.digests_send() == 1
    assert services.digests_send() == 0  # one a day

    (envelope,) = smtp_sink.received
    text = _message(envelope).get_body(("plain",)).get_content()
    assert first.reference in text
    assert second.reference in text
    assert not Delivery.objects.filter(notice__recipient=person, status=DeliveryStatus.PENDING).exists()


def test_staff_without_an_email_address_get_the_inbox_only(django_capture_on_commit_callbacks):
    dispatcher = UserFactory(username="no-mail", email="", roles=[roles.DISPATCH])
    with django_capture_on_commit_callbacks() as queued:
        services.notify(
            kind="pool_state_changed",
            event="pool-state:test",
            recipients=[dispatcher],
            params={"pool": "P", "state": "offline", "was": "active"},
        )

    assert Notice.objects.filter(recipient=dispatcher).count() == 1
    assert not Delivery.objects.filter(notice__recipient=dispatcher).exists()
    assert queued == []
