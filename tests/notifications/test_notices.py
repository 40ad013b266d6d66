"""Notices: who hears of which event, once, and the inbox where they read them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from aftersales import services as aftersales_services
from dispatch import services as dispatch_services
from factory import clock, roles
from notifications import services
from notifications.models import Channel, Delivery, Notice
from orders import services as order_services
from orders.models import Order, OrderStatus
from orders.quotes import promise_due
from tests.factories import UserFactory, client_user, compute_pool, open_ticket, order_at

pytestmark = pytest.mark.django_db


def _kinds(user) -> list[str]:
    return list(Notice.objects.filter(recipient=user).order_by("created_at", "id").values_list("kind", flat=True))


def _signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def test_a_client_hears_of_acceptance_each_gate_and_delivery_and_staff_hear_nothing(ops_user, org_a, client_a):
    colleague = client_user(organization=org_a, username="colleague")
    other = client_user(username="other-org")

    order = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)

    gates = ["gate_passed"] * order.stages.count()
    assert _kinds(client_a) == _kinds(colleague) == ["order_accepted", *gates, "order_delivered"]
    assert _kinds(other) == []
    assert _kinds(ops_user) == []
    notice = Notice.objects.filter(recipient=client_a, kind="order_delivered").get()
    assert notice.url == reverse("portal:order", args=[order.pk])
    assert ops_user.username not in str(notice.params)


def test_an_event_told_twice_is_one_notice_and_one_email(client_a):
    for _ in range(2):
        services.notify(
            kind="order_delivered",
            event="order-delivered:test",
            recipients=[client_a],
            params={"reference": "AF-1", "title": "T"},
        )

    assert Notice.objects.filter(recipient=client_a).count() == 1
    assert Delivery.objects.filter(notice__recipient=client_a, channel=Channel.EMAIL).count() == 1


def test_clients_never_get_staff_kinds_nor_staff_client_kinds(client_a, aftersales_user):
    params = {"reference": "TK-1", "subject": "S"}
    assert services.notify(kind="sla_breached", event="e1", recipients=[client_a], params=params) == 0
    assert services.notify(kind="ticket_answered", event="e2", recipients=[aftersales_user], params=params) == 0
    assert not Notice.objects.exists()


def test_a_client_hears_of_an_eta_slip_past_the_threshold_once_per_slip(ops_user, org_a, client_a, settings):
    settings.ETA_SLIP_NOTICE_HOURS = 24
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    promised = promise_due(order.promised_delivery)

    order_services.orders_set_eta(etas={order.pk: promised + timedelta(hours=20)})
    assert "eta_slipped" not in _kinds(client_a)
    order_services.orders_set_eta(etas={order.pk: promised + timedelta(hours=30)})
    order_services.orders_set_eta(etas={order.pk: promised + timedelta(hours=40)})
    assert _kinds(client_a).count("eta_slipped") == 1
    order_services.orders_set_eta(etas={order.pk: promised + timedelta(hours=60)})

    slips = Notice.objects.filter(recipient=client_a, kind="eta_slipped").order_by("id")
    assert [notice.params["hours"] for notice in slips] == [30, 30]
    assert Order.objects.get(pk=order.pk).eta_told == promised + timedelta(hours=60)


def test_a_client_hears_that_its_ticket_was_answered_or_waits_for_it_but_not_of_internal_notes(
    ops_user, org_a, client_a, aftersales_user
):
    order = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    ticket = open_ticket(order=order, actor=client_a)
    Notice.objects.all().delete()

    aftersales_services.ticket_post_message(ticket=ticket, actor=aftersales_user, body="Looking into it", internal=True)
    assert _kinds(client_a) == []
    aftersales_services.ticket_post_message(ticket=ticket, actor=aftersales_user, body="Which model version?")
    aftersales_services.ticket_change_status(
        ticket=ticket, actor=aftersales_user, status="waiting_client", note="Send us a failing prompt."
    )

    assert _kinds(client_a) == ["ticket_answered", "ticket_waiting"]
    assert Notice.objects.filter(recipient=client_a).first().url.startswith("/portal/tickets/")


def test_after_sales_staff_hear_of_a_breached_sla(ops_user, org_a, client_a, aftersales_user, move_clock):
    order = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    ticket = open_ticket(order=order, actor=client_a, severity="critical")
    move_clock(days=3)

    aftersales_services.sla_watch()

    assert "sla_breached" in _kinds(aftersales_user)
    assert _kinds(client_a).count("sla_breached") == 0
    assert Notice.objects.get(recipient=aftersales_user, kind="sla_breached").url == reverse(
        "aftersales:ticket", args=[ticket.pk]
    )


def test_dispatch_staff_hear_of_a_pool_state_change(dispatcher, ops_user):
    pool = compute_pool()

    dispatch_services.pool_change_state(pool=pool, action="drain", actor=dispatcher, reason="Cooling check")

    notice = Notice.objects.get(recipient=dispatcher, kind="pool_state_changed")
    assert notice.params == {"pool": pool.name, "state": "draining", "was": "active"}
    assert _kinds(ops_user) == []
    # Inbox only unless chosen: a pool's state is the dispatch center's daily bread.
    assert not Delivery.objects.filter(notice=notice).exists()


# --- The inbox -----------------------------------------------------------------------------------------------


def test_the_inbox_lists_notices_in_the_readers_language_and_counts_the_unread(ops_user, org_a, client_a):
    order = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)
    browser = _signed_in(client_a)

    page = browser.get(reverse("notifications:inbox")).content.decode()
    assert f"Order {order.reference} accepted" in page
    assert browser.get(reverse("notifications:unread")).json() == {"unread": 1}
    chinese = browser.get(reverse("notifications:inbox"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"订单 {order.reference} 已受理" in chinese


def test_opening_a_notice_reads_it_and_follows_its_link(ops_user, org_a, client_a):
    order = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)
    notice = Notice.objects.get(recipient=client_a)
    browser = _signed_in(client_a)

    answer = browser.post(reverse("notifications:open", args=[notice.pk]))

    assert answer.status_code == 302
    assert answer["Location"] == reverse("portal:order", args=[order.pk])
    assert browser.get(reverse("notifications:unread")).json() == {"unread": 0}


def test_mark_all_read_reads_only_ones_own(ops_user, org_a, client_a):
    order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    colleague_notice = Notice.objects.create(
        recipient=ops_user, kind="pool_state_changed", event="x", params={}, created_at=clock.now()
    )

    _signed_in(client_a).post(reverse("notifications:read-all"))

    assert not Notice.objects.filter(recipient=client_a, read_at__isnull=True).exists()
    colleague_notice.refresh_from_db()
    assert colleague_notice.read_at is None


def test_someone_elses_notice_cannot_be_opened(ops_user, org_a, client_a, client_b):
    order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)
    notice = Notice.objects.get(recipient=client_a)

    assert _signed_in(client_b).post(reverse("notifications:open", args=[notice.pk])).status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_the_unread_count_answers_401_once_the_session_ended():
    assert Client().get(reverse("notifications:unread")).status_code == 401


def test_a_new_person_sees_an_empty_inbox(client_a):
    page = _signed_in(client_a).get(reverse("notifications:inbox")).content.decode()

    assert "No notices yet" in page


# --- Preferences and language ----------------------------------------------------------------------------------


def test_a_client_chooses_how_each_kind_reaches_them_among_client_kinds_only(client_a):
    browser = _signed_in(client_a)
    form = browser.get(reverse("notifications:preferences")).content.decode()
    assert 'name="order_delivered"' in form
    assert 'name="sla_breached"' not in form

    answer = browser.post(
        reverse("notifications:preferences"),
        {
            "order_accepted": "off",
            "gate_passed": "immediately",
            "eta_slipped": "digest",
            "order_delivered": "digest",
            "ticket_answered": "immediately",
            "ticket_waiting": "immediately",
        },
    )
    assert answer.status_code == 302

    services.notify(kind="order_accepted", event="a", recipients=[client_a], params={"reference": "R", "title": "T"})
    services.notify(kind="order_delivered", event="d", recipients=[client_a], params={"reference": "R", "title": "T"})
    assert not Delivery.objects.filter(notice__event="a").exists()
    assert Delivery.objects.get(notice__event="d").channel == Channel.DIGEST


def test_a_bad_choice_is_refused_and_changes_nothing(client_a):
    answer = _signed_in(client_a).post(reverse("notifications:preferences"), {"order_accepted": "hourly"})

    assert answer.status_code == 400
    assert not client_a.notice_preferences.exists()


def test_switching_the_language_in_the_header_writes_the_persons_emails_in_it(client_a):
    browser = _signed_in(client_a)

    browser.post(reverse("set_language"), {"language": "zh-hans", "next": "/portal/"})

    assert services.language_of(client_a) == "zh-hans"


def test_staff_rota_is_the_role_holders(dispatcher, reviewer):
    outsider = UserFactory(username="left", roles=[roles.DISPATCH], is_active=False)

    assert services.staff_holding(roles.DISPATCH) == [dispatcher]
    assert outsider not in services.staff_holding(roles.DISPATCH)


def test_operations_hear_once_that_an_order_turns_late(ops_user, org_a, client_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    due = promise_due(order.promised_delivery)

    order_services.orders_set_eta(etas={order.pk: due - timedelta(hours=2)})
    assert "order_late" not in _kinds(ops_user)
    order_services.orders_set_eta(etas={order.pk: due + timedelta(hours=3)})
    order_services.orders_set_eta(etas={order.pk: due + timedelta(hours=9)})

    assert _kinds(ops_user).count("order_late") == 1
    assert _kinds(client_a).count("order_late") == 0
    late = Notice.objects.get(recipient=ops_user, kind="order_late")
    assert late.params["client"] == org_a.name
    assert late.url == reverse("orders:detail", args=[order.pk])


def test_reviewers_hear_once_of_a_review_waiting_too_long(ops_user, reviewer, org_a, client_a, settings, move_clock):
    from security import services as security_services

    settings.REVIEW_WAIT_NOTICE_HOURS = 8
    order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a)
    (review,) = security_services.reviews_open_for_waiting_gates()

    assert security_services.reviews_watch_waiting() == 0
    move_clock(hours=9)
    assert security_services.reviews_watch_waiting() == 1
    assert security_services.reviews_watch_waiting() == 0

    notice = Notice.objects.get(recipient=reviewer, kind="review_waiting")
    assert notice.params["reference"] == review.order.reference
    assert notice.url == reverse("security:review", args=[review.pk])


def test_operations_and_dispatch_hear_once_a_month_of_a_budget_near_its_end(ops_user, dispatcher, org_a, client_a):
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=1000)
    dispatch_services.dispatch_tick(now=clock.now())
    dispatch_services.dispatch_tick(now=clock.now() + timedelta(hours=2))
    used = dispatch_services.client_usage_this_month(clock.now() + timedelta(hours=2))[org_a.pk]
    dispatch_services.client_budget_set(
        client=org_a, monthly_pflops_hours=Decimal(str(round(used * 1.1, 2))), warn_at=Decimal("0.8"), enforce=False
    )

    assert dispatch_services.budgets_watch(now=clock.now() + timedelta(hours=2)) == 1
    assert dispatch_services.budgets_watch(now=clock.now() + timedelta(hours=2)) == 0

    for person in (ops_user, dispatcher):
        assert _kinds(person).count("budget_near_end") == 1
    assert _kinds(client_a).count("budget_near_end") == 0


def test_events_of_the_past_replayed_fill_the_inbox_but_send_nothing(client_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued, services.replaying_the_past():
        services.notify(
            kind="order_delivered",
            event="order-delivered:past",
            recipients=[client_a],
            params={"reference": "AF-1", "title": "T"},
            organization_id=client_a.client_membership.organization_id,
        )

    assert Notice.objects.filter(recipient=client_a).count() == 1
    assert not Delivery.objects.exists()
    assert queued == []
