"""After-sales services: opening, the thread, the status flow, SLA clocks, satisfaction, follow-up orders."""

from datetime import date, timedelta

import pytest

from aftersales import services
from aftersales.errors import TicketActionNotPermitted, TicketInvalid, TicketTransitionNotAllowed
from aftersales.models import Ticket, TicketEventKind, TicketStatus
from orders.models import Order, OrderStatus
from tests.factories import open_ticket, order_at, ticket_fields

pytestmark = pytest.mark.django_db


def test_client_opens_a_ticket_with_due_times_from_the_severity_policy(delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="critical")

    assert ticket.reference.startswith("TK-")
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_response_due - ticket.opened_at == timedelta(hours=1)
    assert ticket.resolution_due - ticket.opened_at == timedelta(hours=24)
    assert [m.body for m in ticket.messages.all()] == [ticket_fields()["body"]]
    assert list(ticket.events.values_list("kind", flat=True)) == [TicketEventKind.OPENED]


def test_references_count_up(delivered_a, client_a):
    first = open_ticket(order=delivered_a, actor=client_a)
    second = open_ticket(order=delivered_a, actor=client_a)
    assert int(second.reference[-5:]) == int(first.reference[-5:]) + 1


def test_staff_open_a_ticket_for_the_client(delivered_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=aftersales_user)
    assert ticket.messages.get().from_staff


@pytest.mark.parametrize("status", [OrderStatus.SUBMITTED, OrderStatus.IN_PRODUCTION, OrderStatus.READY])
def test_no_ticket_on_an_undelivered_order(status, org_a, client_a, ops_user):
    order = order_at(status, staff=ops_user, client=org_a, actor=client_a)
    with pytest.raises(TicketInvalid) as refused:
        open_ticket(order=order, actor=client_a)
    assert refused.value.field == "order"
    assert not Ticket.objects.exists()


def test_no_ticket_on_another_organizations_order(delivered_b, client_a):
    with pytest.raises(TicketActionNotPermitted):
        open_ticket(order=delivered_b, actor=client_a)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("subject", "  "), ("body", ""), ("severity", "urgent"), ("category", "praise"), ("subject", "x" * 201)],
)
def test_bad_input_opens_nothing(field, value, delivered_a, client_a):
    with pytest.raises(TicketInvalid) as refused:
        open_ticket(order=delivered_a, actor=client_a, **{field: value})
    assert refused.value.field == field
    assert not Ticket.objects.exists()


def test_staff_reply_is_the_first_response_and_starts_work(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_post_message(ticket=ticket, actor=aftersales_user, body="We are looking into it.")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.first_responded_at is not None


def test_internal_note_is_not_a_response(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_post_message(ticket=ticket, actor=aftersales_user, body="Check the RAG index.", internal=True)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_responded_at is None


def test_client_cannot_write_internal_notes_or_empty_messages(delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    with pytest.raises(TicketActionNotPermitted):
        services.ticket_post_message(ticket=ticket, actor=client_a, body="psst", internal=True)
    with pytest.raises(TicketInvalid):
        services.ticket_post_message(ticket=ticket, actor=client_a, body="   ")
    assert ticket.messages.count() == 1


def test_other_staff_roles_and_other_clients_cannot_act(delivered_a, client_a, client_b, dispatcher):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    for outsider in (client_b, dispatcher):
        with pytest.raises(TicketActionNotPermitted):
            services.ticket_post_message(ticket=ticket, actor=outsider, body="hello")


def test_waiting_for_client_pauses_the_resolution_clock(delivered_a, client_a, aftersales_user, move_clock):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="high")
    due = ticket.resolution_due
    services.ticket_change_status(
        ticket=ticket, actor=aftersales_user, status="waiting_client", note="Send us the failing prompts."
    )
    move_clock(hours=10)
    services.ticket_post_message(ticket=ticket, actor=client_a, body="Here they are.")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    # The real clock ticks on between the calls: the pause is ten hours give or take a moment.
    assert abs(ticket.resolution_due - (due + timedelta(hours=10))) < timedelta(seconds=5)
    assert ticket.paused_at is None


def test_illegal_moves_are_refused(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    with pytest.raises(TicketTransitionNotAllowed):
        services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="closed")
    with pytest.raises(TicketInvalid) as refused:
        services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="")
    assert refused.value.field == "note"
    with pytest.raises(TicketActionNotPermitted):
        services.ticket_change_status(ticket=ticket, actor=client_a, status="resolved", note="fixed it myself")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_resolve_rate_closes(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="Index rebuilt.")
    services.ticket_rate(ticket=ticket, actor=client_a, score=4, comment="Quick fix.")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating) == (TicketStatus.CLOSED, 4)
    with pytest.raises(TicketTransitionNotAllowed):
        services.ticket_rate(ticket=ticket, actor=client_a, score=5)
    with pytest.raises(TicketTransitionNotAllowed):
        services.ticket_post_message(ticket=ticket, actor=client_a, body="one more thing")


def test_client_reply_reopens_a_resolved_ticket(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="Index rebuilt.")
    services.ticket_post_message(ticket=ticket, actor=client_a, body="Still wrong for article 12.")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.resolved_at is None


def test_client_cannot_change_severity(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="low")
    with pytest.raises(TicketActionNotPermitted):
        services.ticket_change_severity(ticket=ticket, actor=client_a, severity="critical", reason="please")
    services.ticket_change_severity(ticket=ticket, actor=aftersales_user, severity="critical", reason="Outage")
    ticket.refresh_from_db()
    assert ticket.severity == "critical"
    assert ticket.resolution_due - ticket.opened_at == timedelta(hours=24)


def test_sla_watch_flags_risk_then_breach_once(delivered_a, client_a, move_clock):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="critical")
    assert services.sla_watch() == {"at_risk": 0, "breached": 0, "closed": 0}
    move_clock(minutes=50)
    assert services.sla_watch()["at_risk"] == 1
    move_clock(minutes=20)
    assert services.sla_watch()["breached"] == 1
    assert services.sla_watch()["breached"] == 0
    ticket.refresh_from_db()
    assert ticket.breached
    assert ticket.breached_at is not None
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count(TicketEventKind.BREACHED) == 1
    assert kinds.count(TicketEventKind.AT_RISK) == 1


def test_late_first_response_is_a_breach(delivered_a, client_a, aftersales_user, move_clock):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="critical")
    move_clock(hours=2)
    services.ticket_post_message(ticket=ticket, actor=aftersales_user, body="Sorry for the wait.")
    ticket.refresh_from_db()
    assert ticket.breached


def test_resolved_tickets_close_after_a_week(delivered_a, client_a, aftersales_user, move_clock):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="Done.")
    move_clock(days=8)
    assert services.sla_watch()["closed"] == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED


def test_follow_up_order_links_to_its_parent(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    order = services.ticket_create_follow_up_order(
        ticket=ticket,
        actor=aftersales_user,
        title="Retrain on 2024 regulations",
        requirements="Add the 2024 rules to the corpus.",
        requested_delivery=date.today() + timedelta(days=60),
    )
    ticket.refresh_from_db()
    assert ticket.follow_up_order == order
    assert order.parent_order == delivered_a
    assert order.status == OrderStatus.SUBMITTED
    assert (order.product_type, order.client_id) == (delivered_a.product_type, delivered_a.client_id)
    assert ticket.reference in order.events.get().note
    with pytest.raises(TicketTransitionNotAllowed):
        services.ticket_create_follow_up_order(
            ticket=ticket, actor=aftersales_user, title="Again", requirements="", requested_delivery=date(2099, 1, 1)
        )
    assert Order.objects.filter(parent_order=delivered_a).count() == 1


def test_an_illegal_move_is_refused_as_such_even_without_a_note(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="Done.")
    services.ticket_change_status(ticket=ticket, actor=client_a, status="closed")
    with pytest.raises(TicketTransitionNotAllowed):
        services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="waiting_client")


def test_lowering_the_severity_does_not_undo_a_breach(delivered_a, client_a, aftersales_user, move_clock):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="critical")
    move_clock(hours=2)
    services.sla_watch()
    services.ticket_change_severity(ticket=ticket, actor=aftersales_user, severity="low", reason="Not an outage")
    ticket.refresh_from_db()
    assert ticket.breached
    assert ticket.first_response_due - ticket.opened_at == timedelta(hours=24)
