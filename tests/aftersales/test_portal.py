"""The client portal's tickets: the organization's list, opening a ticket on a delivered order, one ticket's thread."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales import portal_views, services
from aftersales.models import Ticket, TicketStatus
from tests.factories import client_user, open_ticket, order_at, ticket_fields

pytestmark = pytest.mark.django_db


def ticket_url(ticket, action=""):
    return reverse(f"client_tickets:{action or 'ticket'}", args=[ticket.pk])


def page_text(response) -> str:
    return response.content.decode()


def open_form(order, **overrides):
    return {"order": order.pk, **ticket_fields(**overrides)}


def resolve(ticket, staff):
    services.ticket_change_status(ticket=ticket, actor=staff, status="resolved", note="We rebuilt the index.")


# --- Opening a ticket ---------------------------------------------------------------------------------


def test_client_opens_a_ticket_on_a_delivered_order_and_finds_it_in_the_list(client, delivered_a, client_a):
    client.force_login(client_a)

    form = page_text(client.get(reverse("client_tickets:new")))
    assert delivered_a.reference in form

    response = client.post(reverse("client_tickets:new"), open_form(delivered_a, severity="critical"), follow=True)

    ticket = Ticket.objects.get()
    assert response.redirect_chain[-1][0] == ticket_url(ticket)
    page = page_text(response)
    assert f"Ticket {ticket.reference} is open" in page
    assert "Answers cite the wrong regulation" in page
    assert "We answer critical tickets within 1 h" in page
    listing = page_text(client.get(reverse("client_tickets:list")))
    assert ticket.reference in listing
    assert delivered_a.reference in listing
    assert "Open" in listing


def test_a_link_from_the_order_page_preselects_the_order(client, delivered_a, client_a):
    client.force_login(client_a)

    page = page_text(client.get(reverse("client_tickets:new") + f"?order={delivered_a.pk}"))

    assert f'<option value="{delivered_a.pk}" selected>' in page


def test_another_organizations_order_is_not_offered_and_is_refused(client, delivered_a, delivered_b, client_a):
    client.force_login(client_a)

    form = page_text(client.get(reverse("client_tickets:new") + f"?order={delivered_b.pk}"))
    response = client.post(reverse("client_tickets:new"), open_form(delivered_b))

    assert delivered_b.reference not in form
    assert f'value="{delivered_b.pk}" selected' not in form
    assert response.status_code == 400
    assert "Choose one of your organization&#x27;s delivered orders." in page_text(response)
    assert not Ticket.objects.exists()


def test_an_undelivered_order_is_not_offered_and_is_refused(client, delivered_a, org_a, client_a, ops_user):
    in_production = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    form = page_text(client.get(reverse("client_tickets:new")))
    response = client.post(reverse("client_tickets:new"), open_form(in_production))

    assert in_production.reference not in form
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_without_a_delivered_order_the_page_says_so_instead_of_a_form(client, org_a, client_a, ops_user):
    order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(reverse("client_tickets:new")))

    assert "No delivered order yet" in page
    assert 'data-testid="ticket-form"' not in page


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("subject", "  ", "Give the ticket a subject."),
        ("body", "", "Describe what happened."),
        ("severity", "urgent", "Select a valid choice."),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_opens_nothing(client, delivered_a, client_a, field, value, error):
    client.force_login(client_a)

    response = client.post(reverse("client_tickets:new"), open_form(delivered_a, **{field: value}))

    assert response.status_code == 400
    assert error in page_text(response)
    assert 'class="field field--invalid"' in page_text(response)
    assert not Ticket.objects.exists()


# --- Who sees what ------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["aftersales_user", "ops_user"])
def test_staff_are_refused_the_portal_ticket_pages(client, request, delivered_a, client_a, user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    client.force_login(request.getfixturevalue(user))

    assert client.get(reverse("client_tickets:list")).status_code == 403
    assert client.get(reverse("client_tickets:new")).status_code == 403
    assert client.get(ticket_url(ticket)).status_code == 403
    assert client.post(ticket_url(ticket, "message"), {"body": "hello"}).status_code == 403
    assert ticket.messages.count() == 1


def test_anonymous_visitor_is_sent_to_login(client, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)

    for url in (reverse("client_tickets:list"), reverse("client_tickets:new"), ticket_url(ticket)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_another_organizations_ticket_is_not_found(client, delivered_b, client_a, client_b, aftersales_user):
    ticket = open_ticket(order=delivered_b, actor=client_b, subject="Loan model drifts")
    client.force_login(client_a)

    assert client.get(ticket_url(ticket)).status_code == 404
    assert client.post(ticket_url(ticket, "message"), {"body": "Not ours"}).status_code == 404
    resolve(ticket, aftersales_user)
    assert client.post(ticket_url(ticket, "rate"), {"score": 1}).status_code == 404
    assert client.post(ticket_url(ticket, "status"), {"status": "in_progress", "note": "x"}).status_code == 404
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating) == (TicketStatus.RESOLVED, None)
    assert "Loan model drifts" not in page_text(client.get(reverse("client_tickets:list")))


def test_internal_notes_and_staff_names_are_never_shown(client, delivered_a, client_a, aftersales_user):
    aftersales_user.first_name, aftersales_user.last_name = "Wang", "Fang"
    aftersales_user.save()
    ticket = open_ticket(order=delivered_a, actor=client_a)
    services.ticket_post_message(ticket=ticket, actor=aftersales_user, body="Client misuses the API.", internal=True)
    services.ticket_post_message(ticket=ticket, actor=aftersales_user, body="We are looking into it.")
    client.force_login(client_a)

    page = page_text(client.get(ticket_url(ticket)))

    assert "We are looking into it." in page
    assert "Client misuses the API." not in page
    assert "Factory support" in page
    assert "Wang" not in page
    assert aftersales_user.username not in page


def test_the_thread_names_you_and_your_colleagues(client, delivered_a, org_a, client_a):
    colleague = client_user(organization=org_a, username="colleague-a", first_name="Mei", last_name="Lin")
    ticket = open_ticket(order=delivered_a, actor=colleague)
    services.ticket_post_message(ticket=ticket, actor=client_a, body="Same problem on our side.")
    client.force_login(client_a)

    page = page_text(client.get(ticket_url(ticket)))

    assert "Mei Lin" in page
    assert "<strong>You</strong>" in page


# --- The list -----------------------------------------------------------------------------------------


def test_a_ticket_waiting_for_the_client_stands_out(client, delivered_a, client_a, aftersales_user):
    waiting = open_ticket(order=delivered_a, actor=client_a, subject="Slow answers")
    open_ticket(order=delivered_a, actor=client_a, subject="Wrong citations")
    services.ticket_change_status(
        ticket=waiting, actor=aftersales_user, status="waiting_client", note="Send us the failing prompts."
    )
    client.force_login(client_a)

    listing = page_text(client.get(reverse("client_tickets:list")))
    page = page_text(client.get(ticket_url(waiting)))

    assert listing.count('data-waiting="true"') == 1
    assert "Waiting for you" in listing
    assert "Your answer is needed" in listing
    assert "We need your answer to continue" in page
    assert "Send us the failing prompts." in page


def test_the_list_filters_by_status_and_order(client, org_a, delivered_a, client_a, ops_user, aftersales_user):
    other_order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a, title="Second product")
    on_first = open_ticket(order=delivered_a, actor=client_a, subject="First order problem")
    on_second = open_ticket(order=other_order, actor=client_a, subject="Second order problem")
    resolve(on_second, aftersales_user)
    client.force_login(client_a)

    resolved = page_text(client.get(reverse("client_tickets:list") + "?status=resolved"))
    by_order = page_text(client.get(reverse("client_tickets:list") + f"?order={delivered_a.reference}"))
    none = page_text(client.get(reverse("client_tickets:list") + "?status=closed"))

    assert on_second.reference in resolved
    assert on_first.reference not in resolved
    assert on_first.reference in by_order
    assert on_second.reference not in by_order
    assert "No ticket matches these filters" in none


def test_the_list_sorts_by_urgency_on_request(client, delivered_a, client_a):
    critical = open_ticket(order=delivered_a, actor=client_a, severity="critical")
    newest_low = open_ticket(order=delivered_a, actor=client_a, severity="low")
    client.force_login(client_a)

    newest = page_text(client.get(reverse("client_tickets:list")))
    urgent = page_text(client.get(reverse("client_tickets:list") + "?sort=urgency"))

    assert newest.index(newest_low.reference) < newest.index(critical.reference)
    assert urgent.index(critical.reference) < urgent.index(newest_low.reference)


def test_pages_keep_the_filters(client, delivered_a, client_a, monkeypatch):
    monkeypatch.setattr(portal_views, "PAGE_SIZE", 2)
    for _ in range(3):
        open_ticket(order=delivered_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(reverse("client_tickets:list") + "?status=open"))

    assert "Page 1 of 2" in page
    assert "?status=open&amp;page=2" in page


def test_empty_list_explains_tickets_and_links_to_opening_one(client, delivered_a, client_a):
    client.force_login(client_a)

    page = page_text(client.get(reverse("client_tickets:list")))

    assert "No tickets yet" in page
    assert "Tickets are opened on delivered orders" in page
    assert reverse("client_tickets:new") in page


def test_empty_list_without_delivered_orders_offers_no_ticket_form(client, client_a):
    client.force_login(client_a)

    page = page_text(client.get(reverse("client_tickets:list")))

    assert "No tickets yet" in page
    assert "None of your orders is delivered yet" in page
    assert reverse("client_tickets:new") not in page


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("client_tickets:list")).status_code == 200
    return len(queries)


def test_list_query_count_does_not_grow_with_the_tickets(client, delivered_a, client_a):
    for _ in range(3):
        open_ticket(order=delivered_a, actor=client_a)
    client.force_login(client_a)
    # Session, user, membership, organization, staff roles, the paginator's count, the page of tickets
    # (order, follow-up order and last update in the same query), "has the organization a delivered order?".
    assert _list_queries(client) == 8

    for _ in range(3):
        open_ticket(order=delivered_a, actor=client_a)
    assert _list_queries(client) == 8


# --- The thread and the client's actions --------------------------------------------------------------


def test_client_reply_appears_in_the_thread(client, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(ticket_url(ticket, "message"), {"body": "It happens with article 12 too."}, follow=True)

    assert "Your message is sent." in page_text(response)
    assert "It happens with article 12 too." in page_text(response)
    assert ticket.messages.count() == 2


def test_an_empty_message_is_refused_and_changes_nothing(client, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(ticket_url(ticket, "message"), {"body": "   "})

    assert response.status_code == 400
    assert "Write a message." in page_text(response)
    assert ticket.messages.count() == 1


def test_accept_and_rate_closes_the_ticket_and_shows_the_rating(client, delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    resolve(ticket, aftersales_user)
    client.force_login(client_a)

    resolved_page = page_text(client.get(ticket_url(ticket)))
    response = client.post(ticket_url(ticket, "rate"), {"score": "4", "comment": "Quick fix."}, follow=True)

    assert "Accept and rate" in resolved_page
    assert "Still not fixed? Reopen" in resolved_page
    page = page_text(response)
    assert "Thank you for your rating" in page
    assert "Rated 4 out of 5." in page
    assert "Quick fix." in page
    assert "Closed" in page
    assert 'data-testid="reply-form"' not in page
    assert 'data-testid="rate-form"' not in page
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating) == (TicketStatus.CLOSED, 4)


def test_a_rating_out_of_range_is_refused(client, delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    resolve(ticket, aftersales_user)
    client.force_login(client_a)

    response = client.post(ticket_url(ticket, "rate"), {"score": "9"})

    assert response.status_code == 400
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating) == (TicketStatus.RESOLVED, None)


def test_reopening_needs_a_reason(client, delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    resolve(ticket, aftersales_user)
    client.force_login(client_a)

    refused = client.post(ticket_url(ticket, "status"), {"status": "in_progress", "note": " "})
    ticket.refresh_from_db()
    assert refused.status_code == 400
    assert "Say why the ticket is reopened." in page_text(refused)
    assert ticket.status == TicketStatus.RESOLVED

    response = client.post(
        ticket_url(ticket, "status"), {"status": "in_progress", "note": "Article 12 is still wrong."}, follow=True
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert "Article 12 is still wrong." in page_text(response)
    assert 'data-testid="reply-form"' in page_text(response)


def test_the_portal_only_reopens(client, delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(ticket_url(ticket, "status"), {"status": "resolved", "note": "Fixed it myself."})

    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_the_client_has_no_control_over_severity(client, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="low")
    client.force_login(client_a)

    page = page_text(client.get(ticket_url(ticket)))
    client.post(ticket_url(ticket, "status"), {"status": "in_progress", "note": "x", "severity": "critical"})
    client.post(ticket_url(ticket, "message"), {"body": "Please hurry.", "severity": "critical"})

    assert 'name="severity"' not in page
    assert 'data-severity="low"' in page
    ticket.refresh_from_db()
    assert ticket.severity == "low"


def test_the_page_shows_the_promise_and_the_due_time(client, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="high")
    client.force_login(client_a)

    page = page_text(client.get(ticket_url(ticket)))

    assert "We answer high tickets within 4 h and aim to resolve them within 3 d." in page
    assert "First answer due" in page
    assert reverse("portal:order", args=[delivered_a.pk]) in page


def test_a_follow_up_order_is_linked(client, delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    order = services.ticket_create_follow_up_order(
        ticket=ticket,
        actor=aftersales_user,
        title="Retrain on 2024 regulations",
        requirements="Add the 2024 rules to the corpus.",
        requested_delivery=date.today() + timedelta(days=60),
    )
    client.force_login(client_a)

    page = page_text(client.get(ticket_url(ticket)))

    assert order.reference in page
    assert reverse("portal:order", args=[order.pk]) in page


def test_a_late_first_answer_is_shown_as_late(client, delivered_a, client_a, move_clock):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="critical")
    move_clock(hours=2)
    client.force_login(client_a)

    page = page_text(client.get(ticket_url(ticket)))

    assert "First answer due" in page
    assert "1 h ago" in page
    assert "Late" in page


def test_the_order_page_lists_its_tickets_and_links_to_them(client, delivered_a, client_a):
    ticket = open_ticket(order=delivered_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(reverse("portal:order", args=[delivered_a.pk])))

    assert ticket.reference in page
    assert ticket_url(ticket) in page
    assert f"{reverse('client_tickets:new')}?order={delivered_a.pk}" in page
