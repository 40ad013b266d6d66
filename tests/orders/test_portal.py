"""The client portal: a client organization's orders, placing an order, and the client's own actions."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.formats import date_format

from factory import clock
from orders import quotes, services
from orders.models import EventKind, Order, OrderStatus
from orders.quotes import quote
from tests.factories import order_at, order_fields, place_order

pytestmark = pytest.mark.django_db


def order_url(order, action=""):
    return reverse("portal:order", args=[order.pk]) + (f"{action}/" if action else "")


def form_data(**overrides):
    data = order_fields(**overrides)
    data["requested_delivery"] = data["requested_delivery"].isoformat()
    return data


def page_text(response) -> str:
    return response.content.decode()


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"]) if response.context else ""


def _section_text(page: str, testid: str) -> str:
    """The element marked data-testid=`testid`, up to its closing tag."""
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</dd>", start)]


def _section(response, testid: str) -> str:
    return _section_text(page_text(response), testid)


# --- Who sees what -------------------------------------------------------------------------------


def test_portal_shows_only_the_organizations_own_orders(client, org_a, org_b, client_a, client_b):
    own = place_order(client=org_a, actor=client_a, title="Ward triage assistant")
    other = place_order(client=org_b, actor=client_b, title="Loan risk model")
    client.force_login(client_a)

    page = page_text(client.get(reverse("portal:home")))

    assert own.reference in page
    assert "Ward triage assistant" in page
    assert other.reference not in page
    assert "Loan risk model" not in page


def test_portal_row_shows_status_in_words_the_workshop_bar_and_the_delivery_date(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(reverse("portal:home")))

    assert "In production" in page
    assert 'class="workshops"' in page
    assert "Expected delivery" in page
    # Until the forecast runs, the order is expected on the day it was promised.
    assert f'<time datetime="{order.promised_delivery.isoformat()}">' in page
    assert order_url(order) in page


def test_portal_says_a_new_order_waits_for_acceptance(client, org_a, client_a):
    place_order(client=org_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(reverse("portal:home")))

    assert "Submitted" in page
    assert "Waiting for the factory to accept the order" in page
    assert "Promised delivery" in page


def test_empty_portal_explains_how_to_place_the_first_order(client, client_a):
    client.force_login(client_a)

    page = page_text(client.get(reverse("portal:home")))

    assert "No orders yet" in page
    assert "Place your first order" in page
    assert reverse("portal:order-new") in page


@pytest.mark.parametrize("name", ["portal:home", "portal:order-new"])
def test_staff_are_refused_the_portal(client, ops_user, name):
    client.force_login(ops_user)

    assert client.get(reverse(name)).status_code == 403


def test_staff_are_refused_a_portal_order_page(client, ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(ops_user)

    assert client.get(order_url(order)).status_code == 403


def test_anonymous_visitor_of_an_order_page_is_sent_to_login(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)

    response = client.get(order_url(order))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_client_cannot_open_another_organizations_order(client, org_b, client_a, client_b):
    other = place_order(client=org_b, actor=client_b)
    client.force_login(client_a)

    assert client.get(order_url(other)).status_code == 404


def test_client_cannot_act_on_another_organizations_order(client, org_b, client_a, client_b):
    other = place_order(client=org_b, actor=client_b)
    token = other.tracking_token
    client.force_login(client_a)

    assert client.post(order_url(other, "cancel"), {"reason": "Not ours"}).status_code == 404
    assert client.post(order_url(other, "tracking-link/revoke")).status_code == 404
    other.refresh_from_db()
    assert other.status == OrderStatus.SUBMITTED
    assert other.tracking_token == token


def test_portal_home_query_count_does_not_grow_with_orders(
    client, ops_user, org_a, client_a, django_assert_num_queries
):
    order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    place_order(client=org_a, actor=client_a)
    client.force_login(client_a)
    # 1 session, 2 user, 3 the user's client membership, 4 its organization, 5 the user's staff roles,
    # 6 count of the organization's orders (paginator), 7 one page of orders with their clients,
    # 8 the stages of those orders (workshop bars)
    with django_assert_num_queries(8):
        assert client.get(reverse("portal:home")).status_code == 200

    order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    place_order(client=org_a, actor=client_a)
    with django_assert_num_queries(8):
        response = client.get(reverse("portal:home"))
    assert len(response.context["rows"]) == 4


# --- The order page ------------------------------------------------------------------------------


def test_order_page_shows_the_header_progress_and_stages(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(order_url(order)))

    assert order.reference in page
    assert order.promised_delivery.strftime("%Y") in page
    assert 'data-testid="delivery"' in page
    assert 'class="workshops"' in page
    assert "Data workshop" in page
    assert "Model workshop" in page
    assert 'data-testid="stages"' in page


def test_the_order_card_says_when_to_expect_delivery_once(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    services.orders_set_eta(etas={order.pk: clock.now() + timedelta(days=20)})
    client.force_login(client_a)

    page = page_text(client.get(order_url(order)))

    card = page[page.index('data-testid="order-header"') : page.index("</section>")]
    assert card.count("Expected delivery") == 1
    assert ">ETA<" not in card


def test_gates_not_reached_are_keyed_apart_from_gates_awaiting_review(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(order_url(order)))

    bar = page[page.index('class="workshops"') : page.index("</div>", page.index('class="workshops"'))]
    legend = page[page.index('class="workshop-legend"') : page.index("</p>", page.index('class="workshop-legend"'))]
    assert set(re.findall(r"gate--(\w+)", bar)) - {"none"} == {"open"}
    assert re.search(r'gate--open"></span>Gate not reached', legend)
    assert re.search(r'gate--waiting"></span>Gate awaiting review', legend)


def test_timeline_has_no_internal_events_and_no_staff_names(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    services.order_set_priority(order=order, actor=ops_user, priority="high", reason="Board meeting moved up")
    client.force_login(client_a)

    response = client.get(order_url(order))
    page = page_text(response)

    kinds = [row["event"].kind for row in response.context["timeline"] + response.context["step_events"]]
    assert EventKind.PRIORITY_CHANGED not in kinds
    assert EventKind.ACCEPTED in kinds
    assert "Board meeting moved up" not in page
    assert "ops-user" not in page
    assert '<span class="timeline__actor">Factory staff</span>' in page
    assert '<span class="timeline__actor">You</span>' in page


def test_deliverables_appear_only_after_delivery_with_their_lineage(client, ops_user, org_a, client_a):
    order = order_at("ready", staff=ops_user, client=org_a, actor=client_a, product_type="application")
    client.force_login(client_a)

    before = page_text(client.get(order_url(order)))
    services.order_deliver(order=order, actor=ops_user)
    response = client.get(order_url(order))
    after = page_text(response)

    assert 'data-testid="deliverables"' not in before
    assert order.artifacts.first().checksum not in before
    assert 'data-testid="deliverables"' in after
    lineage = [artifact.kind for artifact in response.context["lineage"]]
    assert lineage == ["application", "agent", "model", "dataset"]
    for artifact in order.artifacts.all():
        assert artifact.name in after
        assert artifact.checksum in after
        assert artifact.version in after


def test_tracking_link_is_shown_with_a_copy_button(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(order_url(order)))

    assert reverse("tracking:order", args=[order.tracking_token]) in page
    assert "Copy link" in page
    assert 'data-copy-target="' in page  # factory.js wires the button (no inline script: CSP)


# --- Placing an order ----------------------------------------------------------------------------


def test_placing_an_order_shows_the_promised_date_first_and_creates_nothing_before_confirming(client, client_a):
    client.force_login(client_a)
    expected = quote(product_type="model", size="small", priority="normal", data_sensitivity="internal")

    review = client.post(reverse("portal:order-new"), form_data())

    assert review.status_code == 200
    assert "Review your order" in page_text(review)
    assert review.context["quote"].promised_delivery == expected.promised_delivery
    assert 'data-testid="promised-delivery"' in page_text(review)
    assert 'data-testid="estimated-cost"' in page_text(review)
    assert Order.objects.count() == 0


def _reviewed(response) -> dict:
    """What the review page's confirm button posts: the answers, `confirm` and the quote shown, signed."""
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page_text(response))
    return {**{name: html.unescape(value) for name, value in fields}, "confirm": "1"}


def test_confirming_the_review_places_the_order_and_opens_it(client, org_a, client_a):
    client.force_login(client_a)
    review = client.post(reverse("portal:order-new"), form_data())

    response = client.post(reverse("portal:order-new"), _reviewed(review), follow=True)

    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == order_url(order)
    assert order.client == org_a
    assert order.placed_by == client_a
    assert order.status == OrderStatus.SUBMITTED
    assert f"Order {order.reference} is placed" in page_text(response)


def test_the_order_keeps_the_date_and_estimate_the_review_page_showed(client, client_a, settings):
    client.force_login(client_a)
    review = client.post(reverse("portal:order-new"), form_data())
    shown = review.context["quote"]
    # Before the client confirms, the factory could promise two days earlier: the order keeps what was shown.
    earlier = quotes.Quote(
        promised_delivery=shown.promised_delivery - timedelta(days=2),
        estimated_compute_pflops_hours=shown.estimated_compute_pflops_hours,
        estimated_cost=shown.estimated_cost - 1,
    )
    settings.ORDER_ESTIMATOR = lambda **kwargs: earlier

    placed = client.post(reverse("portal:order-new"), _reviewed(review), follow=True)

    order = Order.objects.get()
    assert (order.promised_delivery, order.quoted_cost, order.quoted_compute_pflops_hours) == (
        shown.promised_delivery,
        shown.estimated_cost,
        shown.estimated_compute_pflops_hours,
    )
    assert date_format(shown.promised_delivery, "DATE_FORMAT") in _messages(placed)


def test_when_the_reviewed_date_no_longer_holds_the_new_one_is_shown_and_nothing_is_placed(
    client, client_a, move_clock
):
    client.force_login(client_a)
    review = client.post(reverse("portal:order-new"), form_data())
    shown = review.context["quote"].promised_delivery
    move_clock(days=3)  # the client came back to the review page three days later

    again = client.post(reverse("portal:order-new"), _reviewed(review))

    assert Order.objects.count() == 0
    assert again.status_code == 200
    now_promised = again.context["quote"].promised_delivery
    assert now_promised > shown
    assert "earliest delivery we can promise now" in _messages(again)
    assert f'datetime="{now_promised.isoformat()}"' in _section(again, "promised-delivery")
    placed = client.post(reverse("portal:order-new"), _reviewed(again), follow=True)
    assert Order.objects.get().promised_delivery == now_promised
    assert placed.redirect_chain[-1][0] == order_url(Order.objects.get())


@pytest.mark.parametrize(
    "quote_token",
    [None, "tampered", "other answers"],
    ids=["no quote", "a tampered quote", "the quote of other answers"],
)
def test_a_confirmation_without_the_reviewed_quote_shows_the_review_again(client, client_a, quote_token):
    client.force_login(client_a)
    data = _reviewed(client.post(reverse("portal:order-new"), form_data()))
    if quote_token is None:
        del data["quote"]
    elif quote_token == "tampered":
        data["quote"] = data["quote"][:-3] + "abc"
    else:
        data["size"] = "large"

    response = client.post(reverse("portal:order-new"), data)

    assert Order.objects.count() == 0
    assert "Review your order" in page_text(response)
    assert "no longer current" in _messages(response)
    assert response.context["quote"] == quote(
        product_type="model", size=data["size"], priority="normal", data_sensitivity="internal"
    )


def test_the_order_page_shows_the_promise_and_the_quoted_estimate(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(client_a)

    page = page_text(client.get(order_url(order)))

    assert order.promised_delivery.strftime("%Y") in _section_text(page, "promised-delivery")
    estimate = _section_text(page, "quoted-estimate")
    assert f"{order.quoted_cost:,.2f} CNY" in estimate
    assert f"{order.quoted_compute_pflops_hours:,.2f} PFLOPS·h" in estimate


def test_changing_the_details_goes_back_to_the_filled_in_form(client, client_a):
    client.force_login(client_a)

    response = client.post(reverse("portal:order-new"), {**form_data(title="Clinic agent"), "edit": "1"})

    assert response.status_code == 200
    assert 'value="Clinic agent"' in page_text(response)
    assert Order.objects.count() == 0


def test_client_cannot_place_an_urgent_order(client, client_a):
    client.force_login(client_a)

    response = client.post(reverse("portal:order-new"), {**form_data(priority="urgent"), "confirm": "1"})

    assert response.status_code == 200
    assert "priority" in response.context["form"].errors
    assert Order.objects.count() == 0


def test_past_delivery_date_is_refused_next_to_the_field_and_nothing_is_created(client, client_a):
    client.force_login(client_a)
    yesterday = clock.now().date() - timedelta(days=1)

    response = client.post(
        reverse("portal:order-new"), {**form_data(), "requested_delivery": yesterday.isoformat(), "confirm": "1"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["requested_delivery"] == [
        "The requested delivery date must be in the future."
    ]
    assert "Please correct the following" in page_text(response)
    assert Order.objects.count() == 0


def test_order_form_page_has_every_field_labelled(client, client_a):
    client.force_login(client_a)

    page = page_text(client.get(reverse("portal:order-new")))

    for name in ("title", "product_type", "sector", "requirements", "data_sensitivity", "size", "requested_delivery"):
        assert f'for="id_{name}"' in page
    assert 'value="urgent"' not in page


def test_a_hospitals_order_form_starts_on_the_healthcare_sector(client, client_a):
    client.force_login(client_a)  # Organization A is a hospital (healthcare)

    page = page_text(client.get(reverse("portal:order-new")))

    assert re.search(r'<option value="healthcare"[^>]*selected', page)
    assert not re.search(r'<option value="government"[^>]*selected', page)


# --- The client's actions ------------------------------------------------------------------------


def test_client_can_cancel_before_acceptance_with_a_reason(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(order_url(order, "cancel"), {"reason": "Budget moved to next year"}, follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.events.filter(kind=EventKind.CANCELLED, note="Budget moved to next year").exists()
    assert "The order is cancelled." in page_text(response)


def test_cancelling_without_a_reason_is_refused_next_to_the_field(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(order_url(order, "cancel"), {"reason": "  "})

    assert response.status_code == 400
    assert "reason" in response.context["cancel_form"].errors
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_cancelling_after_acceptance_is_refused_with_a_message(client, ops_user, org_a, client_a):
    order = order_at("accepted", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(order_url(order, "cancel"), {"reason": "Changed our minds"}, follow=True)

    assert response.status_code == 200
    assert "Cannot cancel" in page_text(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED
    assert 'data-testid="cancel-form"' not in page_text(response)


def test_client_confirms_and_rates_a_delivered_order(client, ops_user, org_a, client_a):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    confirmed = client.post(order_url(order, "confirm"), follow=True)
    rated = client.post(order_url(order, "rate"), {"score": "4", "comment": "Fast and clear"}, follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    assert (order.rating, order.rating_comment) == (4, "Fast and clear")
    assert "the delivery is confirmed" in page_text(confirmed)
    assert "You rated this order 4 out of 5." in page_text(rated)
    assert 'data-testid="rate-form"' not in page_text(rated)


def test_rating_twice_is_refused_and_keeps_the_first_rating(client, ops_user, org_a, client_a):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)
    client.post(order_url(order, "rate"), {"score": "5"})

    response = client.post(order_url(order, "rate"), {"score": "1", "comment": "Second thoughts"}, follow=True)

    assert "already been rated" in page_text(response)
    order.refresh_from_db()
    assert order.rating == 5


def test_rating_outside_one_to_five_is_refused_next_to_the_field(client, ops_user, org_a, client_a):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(order_url(order, "rate"), {"score": "7"})

    assert response.status_code == 400
    assert "score" in response.context["rate_form"].errors
    order.refresh_from_db()
    assert order.rating is None


def test_confirming_before_delivery_is_refused_with_a_message(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(order_url(order, "confirm"), follow=True)

    assert "Cannot confirm" in page_text(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PRODUCTION


def test_actions_answer_only_to_post(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(client_a)

    assert client.get(order_url(order, "cancel")).status_code == 405


def test_renewing_the_tracking_link_makes_the_old_one_stop_working(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    old = order.tracking_token
    client.force_login(client_a)

    response = client.post(order_url(order, "tracking-link/renew"), follow=True)

    order.refresh_from_db()
    assert order.tracking_token != old
    assert "previous link no longer works" in page_text(response)
    assert client.get(reverse("tracking:order", args=[old])).status_code == 404
    assert client.get(reverse("tracking:order", args=[order.tracking_token])).status_code == 200


def test_revoking_the_tracking_link_then_issuing_a_new_one(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    old = order.tracking_token
    client.force_login(client_a)

    client.post(order_url(order, "tracking-link/revoke"))
    order.refresh_from_db()
    revoked_page = page_text(client.get(order_url(order)))
    again = client.post(order_url(order, "tracking-link/revoke"), follow=True)

    assert order.tracking_token is None
    assert client.get(reverse("tracking:order", args=[old])).status_code == 404
    assert "The tracking link is revoked" in revoked_page
    assert "already revoked" in page_text(again)
    client.post(order_url(order, "tracking-link/renew"))
    order.refresh_from_db()
    assert order.tracking_token
