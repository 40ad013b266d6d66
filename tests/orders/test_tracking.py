"""The public tracking page behind an order's shareable link: status, workshop progress, ETA; nothing else."""

import pytest
from django.urls import reverse

from orders import services
from orders.models import OrderStatus
from tests.factories import order_at, place_order

pytestmark = pytest.mark.django_db


def tracking_url(order_or_token):
    token = getattr(order_or_token, "tracking_token", order_or_token)
    return reverse("tracking:order", args=[token])


def test_tracking_page_shows_status_progress_and_delivery_date_without_login(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)

    response = client.get(tracking_url(order))
    page = response.content.decode()

    assert response.status_code == 200
    assert order.reference in page
    assert "In production" in page
    assert 'class="workshops"' in page
    assert "Data workshop" in page
    assert 'data-testid="delivery"' in page
    assert order.promised_delivery.strftime("%Y") in page
    assert "noindex" in response["X-Robots-Tag"]


def test_tracking_page_says_when_to_expect_delivery_once(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)

    page = client.get(tracking_url(order)).content.decode()

    assert page.count("Expected delivery") == 1
    assert ">ETA<" not in page


def test_tracking_page_reveals_no_title_requirements_client_or_people(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    services.order_set_priority(order=order, actor=ops_user, priority="high", reason="Internal escalation")

    page = client.get(tracking_url(order)).content.decode()

    for secret in (
        order.title,
        order.requirements,
        org_a.name,
        ops_user.username,
        client_a.username,
        "Internal escalation",
    ):
        assert secret not in page


def test_tracking_page_has_no_navigation_for_anonymous_visitors(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)

    page = client.get(tracking_url(order)).content.decode()

    assert 'class="sidebar"' not in page
    assert "Sign out" not in page


def test_unknown_tracking_link_is_not_found(client):
    assert client.get(tracking_url("no-such-token")).status_code == 404


def test_revoked_tracking_link_is_not_found(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    token = order.tracking_token
    services.order_revoke_tracking_link(order=order, actor=client_a)

    assert client.get(tracking_url(token)).status_code == 404


def test_renewed_tracking_link_replaces_the_old_one(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    old = order.tracking_token
    order = services.order_renew_tracking_link(order=order, actor=client_a)

    assert client.get(tracking_url(old)).status_code == 404
    assert client.get(tracking_url(order)).status_code == 200


def test_tracking_page_follows_the_order_to_delivery(client, ops_user, org_a, client_a):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)

    page = client.get(tracking_url(order)).content.decode()

    assert str(OrderStatus.DELIVERED.label) in page
    assert "Gate passed" in page


def test_tracking_page_query_count_is_constant(client, ops_user, org_a, client_a, django_assert_num_queries):
    small = order_at("in_production", staff=ops_user, client=org_a, actor=client_a, product_type="dataset")
    large = order_at("in_production", staff=ops_user, client=org_a, actor=client_a, product_type="application")
    # 1 the order behind the token, 2 its stages (workshop bar); no session for an anonymous visitor
    with django_assert_num_queries(2):
        assert client.get(tracking_url(small)).status_code == 200
    with django_assert_num_queries(2):
        assert client.get(tracking_url(large)).status_code == 200
