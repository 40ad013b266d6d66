"""The Django admin for orders: useful lists, and a workflow that only the services change."""

import pytest
from django.urls import reverse

from orders.models import EventKind
from tests.factories import order_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered_order(ops_user, org_a, client_a):
    return order_at("delivered", staff=ops_user, client=org_a, actor=client_a)


@pytest.mark.parametrize("model", ["order", "orderstage", "orderstep", "orderevent", "requirementchange", "artifact"])
def test_changelist_renders_for_a_superuser(client, admin_user, delivered_order, model):
    client.force_login(admin_user)

    response = client.get(reverse(f"admin:orders_{model}_changelist"))

    assert response.status_code == 200


def test_order_changelist_lists_orders_without_an_add_button(client, admin_user, delivered_order):
    client.force_login(admin_user)

    page = client.get(reverse("admin:orders_order_changelist")).content.decode()

    assert delivered_order.reference in page
    assert reverse("admin:orders_order_add") not in page
    assert client.get(reverse("admin:orders_order_add")).status_code == 403


def test_order_search_finds_by_reference_and_client_name(client, admin_user, delivered_order, org_a):
    client.force_login(admin_user)
    url = reverse("admin:orders_order_changelist")

    by_reference = client.get(url, {"q": delivered_order.reference}).content.decode()
    by_client = client.get(url, {"q": org_a.name}).content.decode()
    by_nothing = client.get(url, {"q": "no such order"}).content.decode()

    assert delivered_order.reference in by_reference
    assert delivered_order.reference in by_client
    assert delivered_order.reference not in by_nothing


def test_order_page_shows_stages_and_timeline_read_only(client, admin_user, delivered_order):
    client.force_login(admin_user)

    response = client.get(reverse("admin:orders_order_change", args=[delivered_order.pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert "Data workshop" in page
    assert str(EventKind.DELIVERED.label) in page
    assert 'name="events-0-note"' not in page
    assert 'name="reference"' not in page


def test_event_history_cannot_be_added_edited_or_deleted(client, admin_user, delivered_order):
    event = delivered_order.events.first()
    client.force_login(admin_user)

    changelist = client.get(reverse("admin:orders_orderevent_changelist")).content.decode()
    edit = client.post(reverse("admin:orders_orderevent_change", args=[event.pk]), {"note": "rewritten"})
    delete = client.post(reverse("admin:orders_orderevent_delete", args=[event.pk]), {"post": "yes"})

    assert reverse("admin:orders_orderevent_add") not in changelist
    assert client.get(reverse("admin:orders_orderevent_add")).status_code == 403
    assert edit.status_code == 403
    assert delete.status_code == 403
    event.refresh_from_db()
    assert event.note != "rewritten"


def test_orders_cannot_be_deleted_in_the_admin(client, admin_user, delivered_order):
    client.force_login(admin_user)

    response = client.post(reverse("admin:orders_order_delete", args=[delivered_order.pk]), {"post": "yes"})

    assert response.status_code == 403
    delivered_order.refresh_from_db()


def test_stage_page_shows_its_steps(client, admin_user, delivered_order):
    stage = delivered_order.stages.order_by("position").first()
    step = stage.steps.order_by("position").first()
    client.force_login(admin_user)

    page = client.get(reverse("admin:orders_orderstage_change", args=[stage.pk])).content.decode()

    assert step.code in page
