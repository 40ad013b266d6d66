"""The API as an integrator meets it: a client generated from /api/schema/ by openapi-python-client, as a
hospital's IT team would generate it, imports whole and carries a client's and a staff member's day against
the live server; every answer parses into the generated models.

The client is generated once for the module, offline (no post-hooks: nothing is formatted or downloaded)."""

import importlib
import json
import pkgutil
import subprocess
import sys
from datetime import timedelta

import pytest
from django.test import Client

from dispatch import services as dispatch_services
from factory import clock
from orders.models import OrderStatus
from security import services as security_services
from tests.factories import PASSWORD, compute_pool, order_at, place_order

PACKAGE = "factory_client"
# No post-hooks: the generator would run ruff over the code, which the test does not need.
CONFIG = f"package_name_override: {PACKAGE}\nproject_name_override: factory-client\npost_hooks: []\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory, django_db_blocker):
    """import_module for the generated package, once it is generated and each of its modules imported."""
    folder = tmp_path_factory.mktemp("generated")
    with django_db_blocker.unblock():
        schema = Client().get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    (folder / "schema.json").write_bytes(schema.content)
    (folder / "config.yaml").write_text(CONFIG)
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", "schema.json"]
    command += ["--config", "config.yaml", "--meta", "none", "--output-path", PACKAGE, "--fail-on-warning"]
    run = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120, check=False)
    said = run.stdout + run.stderr
    assert run.returncode == 0, said
    assert "warning" not in said.lower(), said

    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module(PACKAGE)
        names = [module.name for module in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")]
        failed = {}
        for name in names:
            try:
                importlib.import_module(name)
            except Exception as error:  # every module's failure is reported, not only the first
                failed[name] = repr(error)
        assert failed == {}
        operations = [path for path in json.loads(schema.content)["paths"].values() for _ in path]
        assert len([name for name in names if name.count(".") == 3]) == len(operations)  # package.api.tag.op
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def parsed(response, model):
    """The answer as the generated model: parsed, so it matched the schema's model for its status."""
    assert isinstance(response.parsed, model), (response.status_code, response.content[:300])
    return response.parsed


def parsed_list(response, model) -> list:
    assert isinstance(response.parsed, list), (response.status_code, response.content[:300])
    assert response.parsed, "an empty list proves nothing"
    assert all(isinstance(row, model) for row in response.parsed)
    return response.parsed


def parsed_page(response, page_model, row_model):
    """A page of a list as the generated models, with rows: an empty page proves nothing."""
    page = parsed(response, page_model)
    assert page.results, "an empty page proves nothing"
    assert all(isinstance(row, row_model) for row in page.results)
    return page


def signed_in(generated, live_server, username):
    """A token through the generated client, sent along with a stale one that must not matter."""
    client, models = generated("client"), generated("models")
    stale = client.AuthenticatedClient(base_url=live_server.url, token="stale-token", prefix="Token")
    body = models.CredentialsRequest(username=username, password=PASSWORD)
    token = parsed(generated("api.auth.auth_token_create").sync_detailed(client=stale, body=body), models.Token)
    # The scheme's description says so: the prefix is "Token", not the generator's default "Bearer".
    return client.AuthenticatedClient(base_url=live_server.url, token=token.token, prefix="Token")


@pytest.mark.django_db(transaction=True)
def test_a_client_quotes_orders_follows_and_asks_through_the_generated_client(
    generated, live_server, org_a, client_a, ops_user
):
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    models = generated("models")
    api = signed_in(generated, live_server, client_a.username)

    quote = generated("api.orders.orders_quote_retrieve").sync_detailed(
        client=api,
        product_type=models.OrdersQuoteRetrieveProductType.MODEL,
        size=models.OrdersQuoteRetrieveSize.SMALL,
        priority=models.OrdersQuoteRetrievePriority.NORMAL,
        data_sensitivity=models.OrdersQuoteRetrieveDataSensitivity.SENSITIVE,
    )
    assert parsed(quote, models.Quote).promised_delivery > clock.now().date()

    placing = models.OrderCreateRequest(
        title="Discharge letters agent",
        product_type=models.ProductTypeEnum.AGENT,
        sector=models.SectorEnum.HEALTHCARE,
        data_sensitivity=models.DataSensitivityEnum.SENSITIVE,
        size=models.SizeEnum.SMALL,
        requested_delivery=clock.now().date() + timedelta(days=90),
    )
    place = generated("api.orders.orders_create").sync_detailed
    placed = parsed(place(client=api, body=placing, idempotency_key="ward-7-letters-1"), models.Order)
    replay = place(client=api, body=placing, idempotency_key="ward-7-letters-1")
    assert parsed(replay, models.Order).id == placed.id
    assert replay.headers["Idempotent-Replayed"] == "true"
    placing.size = models.SizeEnum.LARGE
    reused = place(client=api, body=placing, idempotency_key="ward-7-letters-1")
    assert (reused.status_code, type(reused.parsed)) == (422, models.Error)
    assert (placed.status, placed.current_workshop) == (models.OrderStatusEnum.SUBMITTED, None)

    pages = [
        parsed(
            generated("api.orders.orders_list").sync_detailed(client=api, page=page, page_size=1),
            models.PaginatedOrderList,
        )
        for page in (1, 2)
    ]
    assert [page.count for page in pages] == [2, 2]
    assert pages[0].next_
    assert not pages[1].next_
    assert {page.results[0].id for page in pages} == {placed.id, delivered.pk}

    order = parsed(generated("api.orders.orders_retrieve").sync_detailed(client=api, id=delivered.pk), models.Order)
    assert order.status == models.OrderStatusEnum.DELIVERED
    timeline = parsed_page(
        generated("api.orders.orders_events_list").sync_detailed(client=api, id=delivered.pk, page_size=200),
        models.PaginatedOrderEventList,
        models.OrderEvent,
    )
    assert timeline.results[0].to_status == models.OrderStatusEnum.SUBMITTED
    assert any(event.workshop is None for event in timeline.results)
    newest = parsed_page(
        generated("api.orders.orders_events_list").sync_detailed(
            client=api, id=delivered.pk, sort=models.OrdersEventsListSort.NEWEST, page_size=1
        ),
        models.PaginatedOrderEventList,
        models.OrderEvent,
    )
    assert (newest.count, newest.results[0].id) == (timeline.count, timeline.results[-1].id)
    assert newest.next_

    tracking = api.get_httpx_client().get(order.tracking_url)
    assert tracking.status_code == 200
    assert delivered.reference in tracking.text

    opening = models.TicketCreateRequest(
        order=delivered.pk,
        category=models.CategoryEnum.DEFECT,
        severity=models.SeverityEnum.HIGH,
        subject="Letters cite the old formulary",
        body="Since Monday the letters name drugs withdrawn last year.",
    )
    ticket = parsed(
        generated("api.tickets.tickets_create").sync_detailed(client=api, body=opening, idempotency_key="ticket-1"),
        models.Ticket,
    )
    message = models.TicketMessageCreateRequest(body="It happens on ward 7 too.")
    answered = parsed(
        generated("api.tickets.tickets_messages_create").sync_detailed(client=api, id=ticket.id, body=message),
        models.Ticket,
    )
    assert [entry.body for entry in answered.messages][-1] == "It happens on ward 7 too."


@pytest.mark.django_db(transaction=True)
def test_staff_accept_and_watch_reviews_pools_and_jobs_through_the_generated_client(
    generated, live_server, org_a, client_a, ops_user
):
    submitted = place_order(client=org_a, actor=client_a)
    pool = compute_pool()
    in_review = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    dispatch_services.dispatch_tick(now=clock.now())
    security_services.reviews_open_for_waiting_gates()
    models = generated("models")
    api = signed_in(generated, live_server, ops_user.username)

    accepted = generated("api.orders.orders_accept_create").sync_detailed(client=api, id=submitted.pk)
    assert parsed(accepted, models.Order).status == models.OrderStatusEnum.ACCEPTED
    timeline = parsed_page(
        generated("api.orders.orders_events_list").sync_detailed(client=api, id=in_review.pk, page_size=200),
        models.PaginatedOrderEventList,
        models.OrderEvent,
    )
    assert {type(event.workshop) for event in timeline.results} == {models.WorkshopEnum, type(None)}

    reviews = parsed(generated("api.reviews.reviews_list").sync_detailed(client=api), models.PaginatedReviewList)
    assert [review.order for review in reviews.results] == [in_review.pk]
    pools = parsed_page(
        generated("api.pools.pools_list").sync_detailed(client=api, sort=models.PoolsListSort.LOAD),
        models.PaginatedPoolList,
        models.Pool,
    )
    assert [row.id for row in pools.results] == [pool.pk]
    jobs = parsed_page(
        generated("api.jobs.jobs_list").sync_detailed(client=api, sort=models.JobsListSort.DEADLINE),
        models.PaginatedJobList,
        models.Job,
    )
    assert all(isinstance(job.priority, models.PriorityEnum) for job in jobs.results)
    parsed_list(
        generated("api.pools.pools_utilization_list").sync_detailed(client=api, id=pool.pk), models.UtilizationSample
    )
