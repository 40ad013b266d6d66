"""The staff after-sales pages, used as after-sales staff use them: the queue, opening a ticket, one ticket."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import Ticket, TicketStatus
from factory import clock
from orders.models import Order, OrderStatus
from orders.services import order_accept, order_deliver, order_start_production, stage_release_gate
from tests.factories import finish_current_stage, gate_reviewer, open_ticket, order_at

pytestmark = pytest.mark.django_db

QUEUE = "/aftersales/tickets/"
NEW = "/aftersales/tickets/new/"


def _text(response) -> str:
    return response.content.decode()


def _page(ticket) -> str:
    return reverse("aftersales:ticket", args=[ticket.pk])


def _row_order(page: str, *references) -> list[str]:
    """The references in the order the page lists them."""
    return sorted(references, key=page.index)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def staff(client, aftersales_user):
    client.force_login(aftersales_user)
    return client


# --- The queue -----------------------------------------------------------------------------------------


def test_queue_puts_the_breached_critical_ticket_first_with_its_countdown(
    staff, delivered_a, delivered_b, client_a, client_b, move_clock
):
    calm = open_ticket(order=delivered_a, actor=client_a, severity="low", subject="A wording question")
    burning = open_ticket(order=delivered_b, actor=client_b, severity="critical", subject="Agent is down")
    move_clock(hours=2)
    services.sla_watch()
    later = open_ticket(order=delivered_a, actor=client_a, severity="medium", subject="Slow answers")

    response = staff.get(QUEUE)
    page = _text(response)

    assert response.status_code == 200
    assert _row_order(page, calm.reference, burning.reference, later.reference) == [
        burning.reference,
        later.reference,
        calm.reference,
    ]
    assert "First response overdue by 1 h" in page
    assert 'data-testid="breached"' in page  # the row's "SLA breached" badge
    # The medium ticket just opened (the real clock ticks on between the calls: 8 h give or take a moment).
    assert re.search(r"First response in (8 h|7 h 59 min)<", page)
    assert "Organization B" in page
    assert reverse("orders:detail", args=[delivered_b.pk]) in page


def test_a_breached_ticket_says_which_clock_ran_out(staff, delivered_a, client_a, aftersales_user, move_clock):
    unanswered = open_ticket(order=delivered_a, actor=client_a, severity="critical", subject="Agent is down")
    answered = open_ticket(order=delivered_a, actor=client_a, severity="critical", subject="Wrong citations")
    services.ticket_post_message(ticket=answered, actor=aftersales_user, body="Looking into it now.")
    move_clock(hours=2)  # past the critical first response (1 h), within its resolution (24 h)
    services.sla_watch()
    move_clock(hours=23)  # now past the resolution too
    services.sla_watch()

    first = _text(staff.get(_page(unanswered)))
    resolution = _text(staff.get(_page(answered)))

    assert "⚠ First response and resolution SLAs breached" in first
    assert "⚠ Resolution SLA breached" in resolution
    assert "First response" not in resolution[resolution.index('data-testid="breached"') :].split("</span>")[0]


def test_a_missed_first_response_is_named_in_the_queue(staff, delivered_a, client_a, move_clock):
    open_ticket(order=delivered_a, actor=client_a, severity="critical", subject="Agent is down")
    move_clock(hours=2)
    services.sla_watch()

    assert "⚠ First response SLA breached" in _text(staff.get(QUEUE))


@pytest.mark.parametrize(
    ("days", "language", "note"),
    [
        (7, "en", "Closed automatically 7 days after resolution."),
        (1, "en", "Closed automatically 1 day after resolution."),
        (7, "zh-hans", "解决 7 天后自动关闭。"),
    ],
)
def test_the_automatic_closing_reads_in_the_readers_language(
    staff, settings, delivered_a, client_a, aftersales_user, move_clock, days, language, note
):
    settings.TICKET_AUTO_CLOSE_DAYS = days
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="Index rebuilt.")
    move_clock(days=days + 1)
    services.sla_watch()
    staff.post(reverse("set_language"), {"language": language, "next": "/"})

    assert note in _text(staff.get(_page(ticket)))


def test_queue_shows_active_tickets_unless_any_status_is_chosen(staff, delivered_a, client_a, aftersales_user):
    active = open_ticket(order=delivered_a, actor=client_a, subject="Still broken")
    done = open_ticket(order=delivered_a, actor=client_a, subject="Fixed long ago")
    services.ticket_change_status(ticket=done, actor=aftersales_user, status="resolved", note="Index rebuilt.")

    default = _text(staff.get(QUEUE))
    every = _text(staff.get(QUEUE, {"status": ""}))
    resolved = _text(staff.get(QUEUE, {"status": "resolved"}))

    assert active.reference in default
    assert done.reference not in default
    assert active.reference in every
    assert done.reference in every
    assert done.reference in resolved
    assert active.reference not in resolved
    assert "Resolved in" in every


def test_queue_filters_by_severity_client_and_breach(staff, delivered_a, delivered_b, client_a, client_b, move_clock):
    critical_a = open_ticket(order=delivered_a, actor=client_a, severity="critical")
    move_clock(hours=2)
    services.sla_watch()
    low_a = open_ticket(order=delivered_a, actor=client_a, severity="low")
    low_b = open_ticket(order=delivered_b, actor=client_b, severity="low")

    def listed(**query):
        page = _text(staff.get(QUEUE, query))
        return {ticket.reference for ticket in (critical_a, low_a, low_b) if ticket.reference in page}

    assert listed(severity="low") == {low_a.reference, low_b.reference}
    assert listed(client=delivered_b.client_id) == {low_b.reference}
    assert listed(breached="true") == {critical_a.reference}
    assert listed(breached="false", client=delivered_a.client_id) == {low_a.reference}
    assert listed(order=delivered_b.reference) == {low_b.reference}


def test_kpis_count_active_breached_and_at_risk_tickets(staff, delivered_a, client_a, move_clock):
    open_ticket(order=delivered_a, actor=client_a, severity="critical")
    move_clock(minutes=50)
    services.sla_watch()  # at risk: 10 of its 60 minutes left
    open_ticket(order=delivered_a, actor=client_a, severity="low")

    response = staff.get(QUEUE)

    assert response.context["counts"] == {"active": 2, "breached": 0, "at_risk": 1, "waiting_client": 0}
    assert 'href="/aftersales/tickets/?breached=true"' in _text(response)
    assert 'data-testid="at-risk"' in _text(response)  # the row's "SLA at risk" badge


def test_empty_queue_says_how_tickets_arrive(staff):
    page = _text(staff.get(QUEUE))

    assert "No active tickets" in page
    assert "clients open them from the portal on their delivered orders" in page
    assert "Any status" in page


def test_filtered_empty_queue_offers_to_clear_the_filters(staff, delivered_a, client_a):
    open_ticket(order=delivered_a, actor=client_a, severity="low")

    page = _text(staff.get(QUEUE, {"severity": "critical"}))

    assert "No tickets match these filters" in page
    assert "Clear filters" in page


@pytest.mark.parametrize("tickets", [3, 6])
def test_the_queue_takes_a_fixed_number_of_queries(staff, delivered_a, client_a, django_assert_num_queries, tickets):
    for number in range(tickets):
        open_ticket(order=delivered_a, actor=client_a, severity=["low", "high", "critical"][number % 3])

    # 1 session, 2 user, 3 the user's roles, 4 the ticket counts, 5 the count of matching tickets, 6 the page of
    # tickets with their orders and clients, 7 the client organizations of the filter form. Doubling adds none.
    with django_assert_num_queries(7):
        response = staff.get(QUEUE)
    assert len(response.context["rows"]) == tickets


# --- Access --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["dispatcher", "reviewer", "client_a"])
def test_other_staff_roles_and_clients_are_refused(client, request, persona, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    client.force_login(request.getfixturevalue(persona))

    for path in (QUEUE, NEW, _page(ticket)):
        assert client.get(path).status_code == 403
    response = client.post(reverse("aftersales:message", args=[ticket.pk]), {"body": "hello"})
    assert response.status_code == 403
    assert ticket.messages.count() == 1


def test_anonymous_visitor_is_sent_to_login(client, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    for path in (QUEUE, NEW, _page(ticket)):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_operations_staff_read_and_act_too(client, ops_user, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    client.force_login(ops_user)

    assert ticket.reference in _text(client.get(QUEUE))
    client.post(reverse("aftersales:message", args=[ticket.pk]), {"body": "On it."})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS


def test_unknown_ticket_is_not_found(staff):
    assert staff.get("/aftersales/tickets/999999/").status_code == 404
    assert staff.post("/aftersales/tickets/999999/status/", {"status": "resolved", "note": "x"}).status_code == 404


# --- Opening a ticket for a client ---------------------------------------------------------------------


def test_staff_open_a_ticket_for_the_client(staff, delivered_a):
    form = staff.get(NEW, {"order": delivered_a.pk})
    assert form.context["form"]["order"].value() == str(delivered_a.pk)  # preselected from the order page

    response = staff.post(
        NEW,
        {
            "order": delivered_a.pk,
            "category": "question",
            "severity": "high",
            "subject": "How do we add new regulations?",
            "body": "Asked on the phone by their compliance officer.",
        },
        follow=True,
    )

    ticket = Ticket.objects.get()
    assert response.redirect_chain[-1][0] == _page(ticket)
    assert f"Ticket {ticket.reference} is open for Organization A" in _messages(response)[0]
    page = _text(response)
    assert "How do we add new regulations?" in page
    assert "Asked on the phone" in page
    assert (ticket.severity, ticket.category, ticket.order) == ("high", "question", delivered_a)


def test_open_ticket_form_shows_errors_next_to_the_fields(staff, delivered_a):
    response = staff.post(NEW, {"order": delivered_a.pk, "category": "defect", "severity": "low", "subject": " "})

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {"subject": ["Give the ticket a subject."]}
    assert "Please correct the following" in _text(response)
    assert not Ticket.objects.exists()


def test_open_ticket_form_offers_delivered_orders_only(staff, delivered_a, ops_user, org_a, client_a):
    in_production = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)

    form = staff.get(NEW)
    response = staff.post(
        NEW,
        {"order": in_production.pk, "category": "defect", "severity": "low", "subject": "s", "body": "b"},
    )

    assert in_production.reference not in _text(form)
    assert delivered_a.reference in _text(form)
    assert response.status_code == 400
    assert "delivered orders only" in response.context["form"].errors["order"][0]
    assert not Ticket.objects.exists()


# --- One ticket: thread, replies and status moves ------------------------------------------------------


def test_ticket_page_shows_the_sla_thread_and_internal_notes_to_staff(
    staff, delivered_a, client_a, aftersales_user, move_clock
):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="critical")
    services.ticket_post_message(ticket=ticket, actor=aftersales_user, body="Check the RAG index first.", internal=True)
    move_clock(hours=2)
    services.sla_watch()

    page = _text(staff.get(_page(ticket)))

    assert ticket.reference in page
    assert "Critical" in page
    assert "First response overdue by 1 h" in page
    assert "Check the RAG index first." in page
    assert "Internal note — clients never see this" in page
    assert "client-a-user" in page
    assert "aftersales-user" in page
    assert "SLA watch" in page  # the breach was flagged by the watch, not a person
    assert reverse("orders:detail", args=[delivered_a.pk]) in page


def test_reply_puts_the_ticket_in_progress(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    response = staff.post(reverse("aftersales:message", args=[ticket.pk]), {"body": "We are on it."}, follow=True)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.first_responded_at is not None
    assert "Reply sent" in _messages(response)[0]
    assert "We are on it." in _text(response)


def test_internal_note_leaves_the_ticket_open(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    response = staff.post(
        reverse("aftersales:message", args=[ticket.pk]), {"body": "Ask Li about it.", "internal": "on"}, follow=True
    )

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.messages.get(body="Ask Li about it.").internal
    assert "Internal note added" in _messages(response)[0]


def test_empty_reply_is_refused_next_to_the_field(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    response = staff.post(reverse("aftersales:message", args=[ticket.pk]), {"body": "   "})

    assert response.status_code == 400
    assert response.context["reply_form"].errors == {"body": ["Write a message."]}
    assert ticket.messages.count() == 1


def test_resolve_needs_a_note(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    page = _text(staff.get(_page(ticket)))
    assert "closes on its own after 7 days" in page  # what resolving will do

    response = staff.post(reverse("aftersales:status", args=[ticket.pk]), {"status": "resolved", "note": ""})

    assert response.status_code == 400
    assert "Say how the ticket was resolved." in _text(response)
    assert "Nothing was changed" in _text(response)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.messages.count() == 1


def test_resolve_with_a_note_tells_the_client(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    response = staff.post(
        reverse("aftersales:status", args=[ticket.pk]), {"status": "resolved", "note": "Index rebuilt."}, follow=True
    )

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert f"Ticket {ticket.reference} is now resolved." in _messages(response)
    page = _text(response)
    assert "Index rebuilt." in page
    assert "Reopen" in page
    assert "Close" in page


def test_reopening_a_resolved_ticket_needs_a_reason(staff, delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="Index rebuilt.")

    response = staff.post(reverse("aftersales:status", args=[ticket.pk]), {"status": "in_progress", "note": ""})

    assert response.status_code == 400
    assert "Say why the ticket is reopened." in _text(response)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_illegal_move_is_a_message_and_changes_nothing(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    response = staff.post(reverse("aftersales:status", args=[ticket.pk]), {"status": "closed", "note": ""})

    assert response.status_code == 302
    assert response["Location"] == _page(ticket)
    page = staff.get(_page(ticket))
    assert "A ticket that is open cannot become closed." in _messages(page)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.events.count() == 1


def test_closed_ticket_offers_no_reply_and_no_moves(staff, delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="Done.")
    services.ticket_rate(ticket=ticket, actor=client_a, score=4, comment="Quick fix.")

    page = _text(staff.get(_page(ticket)))

    assert "This ticket is closed" in page
    assert 'data-testid="reply-form"' not in page
    assert "4 of 5" in page
    assert "Quick fix." in page


# --- Severity ------------------------------------------------------------------------------------------


def test_severity_change_moves_the_due_times(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="low")

    response = staff.post(
        reverse("aftersales:severity", args=[ticket.pk]),
        {"severity": "critical", "reason": "The whole ward is affected."},
        follow=True,
    )

    ticket.refresh_from_db()
    assert ticket.severity == "critical"
    assert ticket.resolution_due - ticket.opened_at == timedelta(hours=24)
    assert "Severity is now critical" in _messages(response)[0]
    assert "The whole ward is affected." in _text(response)  # in the history


def test_severity_change_needs_a_reason(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="low")

    response = staff.post(reverse("aftersales:severity", args=[ticket.pk]), {"severity": "critical", "reason": ""})

    assert response.status_code == 400
    assert response.context["severity_form"].errors == {"reason": ["Say why the severity changes."]}
    ticket.refresh_from_db()
    assert ticket.severity == "low"


# --- Follow-up orders ----------------------------------------------------------------------------------


def _follow_up_data(**overrides):
    data = {
        "title": "Retrain on the 2024 regulations",
        "requirements": "Add the 2024 rules to the corpus.",
        "requested_delivery": (clock.now().date() + timedelta(days=60)).isoformat(),
        "product_type": "model",
        "size": "small",
        "priority": "normal",
    }
    data.update(overrides)
    return data


def test_follow_up_form_starts_from_the_ticket_and_its_order(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a, subject="Answers cite the wrong regulation")

    form = staff.get(_page(ticket)).context["follow_up_form"]

    assert form["title"].value() == "Follow-up: Answers cite the wrong regulation"
    assert form["requirements"].value().startswith("Since Monday the agent quotes")
    assert (form["product_type"].value(), form["size"].value()) == (delivered_a.product_type, delivered_a.size)


def test_follow_up_order_is_placed_and_linked_both_ways(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    response = staff.post(reverse("aftersales:follow-up", args=[ticket.pk]), _follow_up_data(), follow=True)

    order = Order.objects.get(parent_order=delivered_a)
    assert response.redirect_chain[-1][0] == reverse("orders:detail", args=[order.pk])
    order_page = _text(response)
    assert f"Follow-up order {order.reference} is placed from ticket {ticket.reference}" in order_page
    assert delivered_a.reference in order_page  # "Follow-up of" its parent
    assert ticket.reference in order_page  # the ticket it was placed from
    ticket_page = _text(staff.get(_page(ticket)))
    assert reverse("orders:detail", args=[order.pk]) in ticket_page
    assert order.reference in ticket_page
    assert 'data-testid="follow-up-form"' not in ticket_page


def test_follow_up_order_with_bad_input_places_nothing(staff, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    response = staff.post(reverse("aftersales:follow-up", args=[ticket.pk]), _follow_up_data(requested_delivery=""))

    assert response.status_code == 400
    assert response.context["follow_up_form"].errors == {"requested_delivery": ["Give the requested delivery date."]}
    assert not Order.objects.filter(parent_order=delivered_a).exists()
    ticket.refresh_from_db()
    assert ticket.follow_up_order is None


def test_ticket_on_a_follow_up_order_links_its_parent(staff, delivered_a, client_a, aftersales_user, ops_user):
    first = open_ticket(order=delivered_a, actor=client_a)
    follow_up = services.ticket_create_follow_up_order(
        ticket=first,
        actor=aftersales_user,
        title="Retrain",
        requirements="",
        requested_delivery=clock.now().date() + timedelta(days=60),
    )
    # The follow-up order is produced and delivered in turn, and gets a ticket of its own.
    second = open_ticket(order=_deliver(follow_up, ops_user), actor=client_a)

    page = _text(staff.get(_page(second)))

    assert 'data-testid="parent-order-link"' in page
    assert reverse("orders:detail", args=[delivered_a.pk]) in page


def _deliver(order, staff_user):
    """Drive an order already placed through production to delivery (as tests.factories.order_at does)."""
    order_accept(order=order, actor=staff_user)
    order_start_production(order=order, actor=staff_user)
    for stage in order.stages.order_by("position"):
        finish_current_stage(order, staff_user)
        stage.refresh_from_db()
        stage_release_gate(stage=stage, actor=gate_reviewer())
    order.refresh_from_db()
    order_deliver(order=order, actor=staff_user)
    order.refresh_from_db()
    return order
