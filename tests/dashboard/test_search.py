"""The header search: what each staff role finds by a fragment of a reference, a title or a name, in English or
Chinese, and what it may not see; the page's answers to too little and to nothing; its query count."""

import re

import pytest

from dispatch import services as dispatch_services
from orders.models import OrderStatus
from tests.factories import (
    ClientOrganizationFactory,
    UserFactory,
    client_user,
    compute_pool,
    open_ticket,
    order_at,
    place_order,
)

pytestmark = pytest.mark.django_db

URL = "/search/"


def _found(response) -> list[str]:
    """The rows found, as `kind-id`, top to bottom."""
    return re.findall(r'data-found="([a-z]+-\d+)"', response.content.decode())


def test_operations_find_orders_by_a_chinese_title_fragment_a_reference_or_the_client(client, ops_user, org_a):
    imaging = place_order(client=org_a, actor=ops_user, title="胸部影像辅助诊断模型")
    other = place_order(client=ClientOrganizationFactory(name="Xinghe Rural Bank"), actor=ops_user, title="Loan risk")
    client.force_login(ops_user)

    assert _found(client.get(URL, {"q": "影像辅助"})) == [f"order-{imaging.pk}"]
    assert _found(client.get(URL, {"q": imaging.reference[-5:].lower()})) == [f"order-{imaging.pk}"]
    assert _found(client.get(URL, {"q": "rural"})) == [f"order-{other.pk}", f"client-{other.client_id}"]


def test_each_role_finds_only_the_kinds_it_may_look_at(client, ops_user, dispatcher, reviewer, org_a):
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=1000)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, title="Radiology triage agent")
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, title="Radiology report model")
    ticket = open_ticket(order=delivered, actor=client_user(organization=org_a), subject="Radiology recall")
    dispatch_services.dispatch_tick()

    def kinds(user) -> set[str]:
        client.force_login(user)
        return {row.split("-")[0] for row in _found(client.get(URL, {"q": "radiology"}))}

    assert kinds(ops_user) == {"order", "ticket", "job"}
    assert kinds(dispatcher) == {"order", "job"}
    assert kinds(reviewer) == {"order"}
    aftersales = UserFactory(roles=["aftersales"])
    assert kinds(aftersales) == {"order", "ticket"}
    client.force_login(dispatcher)
    jobs = [row for row in _found(client.get(URL, {"q": "triage"})) if row.startswith("job-")]
    assert jobs
    client.force_login(ops_user)
    assert ticket.reference in client.get(f"/aftersales/tickets/?search={ticket.reference}").content.decode()


def test_clients_have_their_portal_not_the_staff_search(client, org_a):
    client.force_login(client_user(organization=org_a))
    assert client.get(URL, {"q": "model"}).status_code == 403
    assert 'id="site-search"' not in client.get("/portal/").content.decode()


def test_too_little_and_nothing_are_said_in_words(client, ops_user):
    client.force_login(ops_user)

    short = client.get(URL, {"q": "a"}).content.decode()
    nothing = client.get(URL, {"q": "no such thing anywhere"}).content.decode()

    assert 'data-testid="search-too-short"' in short
    assert 'data-testid="search-empty"' in nothing
    assert "no such thing anywhere" in nothing
    assert 'id="site-search"' in nothing  # the header's box, on every staff page


def test_more_matches_than_shown_link_to_the_list_filtered_alike(client, ops_user, org_a):
    for number in range(9):
        place_order(client=org_a, actor=ops_user, title=f"Discharge summary assistant {number}")
    client.force_login(ops_user)

    page = client.get(URL, {"q": "discharge"}).content.decode()

    assert len(re.findall(r'data-found="order-', page)) == 8
    assert 'href="/orders/?search=discharge"' in page
    assert "Discharge summary assistant 0" in client.get("/orders/?search=discharge").content.decode()


@pytest.mark.parametrize("orders", [1, 6])
def test_the_search_takes_a_fixed_number_of_queries(
    client, dispatcher, ops_user, org_a, django_assert_num_queries, orders
):
    for number in range(orders):
        place_order(client=org_a, actor=ops_user, title=f"Radiology model {number}")
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 orders with their clients and 5 their stages (the list's rows),
    # 6 client organizations, 7 jobs queued or running with their orders, clients, steps and pools.
    with django_assert_num_queries(7):
        response = client.get(URL, {"q": "radiology"})

    assert len(_found(response)) == orders
