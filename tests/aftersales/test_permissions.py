"""Who may act on a ticket (aftersales.permissions, enforced by the services whoever calls) and who reads internal
notes (aftersales.selectors.messages_visible_to, the one place the rule is written)."""

import pytest
from django.urls import reverse

from aftersales import selectors, services
from aftersales.errors import TicketActionNotPermitted
from aftersales.models import Severity
from tests.factories import open_ticket, order_fields

pytestmark = pytest.mark.django_db

INTERNAL_NOTE = "Root cause: the retriever index was never rebuilt."


@pytest.fixture
def ticket(delivered_a, client_a):
    return open_ticket(order=delivered_a, actor=client_a)


@pytest.mark.parametrize("who", ["client_a", "reviewer", "dispatcher"])
def test_only_ticket_staff_regrade_a_ticket_or_place_a_follow_up_order(request, ticket, who):
    actor = request.getfixturevalue(who)

    with pytest.raises(TicketActionNotPermitted):
        services.ticket_change_severity(ticket=ticket, actor=actor, severity=Severity.CRITICAL, reason="Urgent")
    with pytest.raises(TicketActionNotPermitted):
        services.ticket_create_follow_up_order(ticket=ticket, actor=actor, **order_fields())

    ticket.refresh_from_db()
    assert (ticket.severity, ticket.follow_up_order) == (Severity.MEDIUM, None)


@pytest.mark.parametrize("who", ["reviewer", "dispatcher", "client_b", None])
def test_outsiders_and_the_system_cannot_open_or_write_on_a_ticket(request, delivered_a, ticket, who):
    actor = request.getfixturevalue(who) if who else None
    messages = ticket.messages.count()

    with pytest.raises(TicketActionNotPermitted):
        open_ticket(order=delivered_a, actor=actor)
    with pytest.raises(TicketActionNotPermitted):
        services.ticket_post_message(ticket=ticket, actor=actor, body="Hello")

    assert ticket.messages.count() == messages


def test_internal_notes_reach_ticket_staff_and_never_a_client(client, ticket, client_a, aftersales_user, ops_user):
    services.ticket_post_message(ticket=ticket, actor=aftersales_user, body=INTERNAL_NOTE, internal=True)

    for staff in (aftersales_user, ops_user):
        assert selectors.messages_visible_to(staff).filter(body=INTERNAL_NOTE).exists()
    assert not selectors.messages_visible_to(client_a).filter(body=INTERNAL_NOTE).exists()
    assert INTERNAL_NOTE not in [m.body for m in selectors.ticket_detail(user=client_a, pk=ticket.pk).messages.all()]
    client.force_login(client_a)
    assert INTERNAL_NOTE not in client.get(reverse("client_tickets:ticket", args=[ticket.pk])).content.decode()


def test_an_internal_note_does_not_show_the_client_a_newer_update(ticket, client_a, aftersales_user, move_clock):
    move_clock(hours=2)
    note = services.ticket_post_message(ticket=ticket, actor=aftersales_user, body=INTERNAL_NOTE, internal=True)

    def last_update(user):
        return selectors.with_last_update(selectors.tickets_visible_to(user), user=user).get(pk=ticket.pk).last_update

    assert last_update(aftersales_user) == note.at
    assert last_update(client_a) < note.at
