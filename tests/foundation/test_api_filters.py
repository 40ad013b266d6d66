"""A list filter the API cannot use answers 400 naming it, instead of quietly listing everything."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/orders/?product_type=", "product_type"),
        ("/api/v1/orders/?status=%20", "status"),
        ("/api/v1/orders/?client=", "client"),
        ("/api/v1/orders/?sort=", "sort"),
        ("/api/v1/orders/?status=accepted&status=", "status"),
        ("/api/v1/tickets/?severity=", "severity"),
        ("/api/v1/reviews/?workshop=", "workshop"),
        ("/api/v1/jobs/?state=", "state"),
        ("/api/v1/jobs/?order=", "order"),
    ],
)
def test_an_empty_filter_value_is_refused_by_name(ops_user, url, field):
    answer = _api(ops_user).get(url)

    assert answer.status_code == 400
    assert answer.json() == {field: ["This field may not be blank."]}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/orders/?product_type=spaceship", "product_type"),
        ("/api/v1/tickets/?category=praise", "category"),
        ("/api/v1/reviews/?status=maybe", "status"),
        ("/api/v1/tickets/?sort=loudest", "sort"),
        ("/api/v1/tickets/?sort=", "sort"),
    ],
)
def test_an_unknown_choice_is_refused_by_name(ops_user, url, field):
    answer = _api(ops_user).get(url)

    assert answer.status_code == 400
    assert list(answer.json()) == [field]


@pytest.mark.parametrize("url", ["/api/v1/orders/?overdue=maybe", "/api/v1/tickets/?breached=yes"])
def test_a_yes_or_no_filter_takes_true_or_false_only(ops_user, url):
    answer = _api(ops_user).get(url)

    assert answer.status_code == 400
    assert list(answer.json().values()) == [["Must be a valid boolean."]]
    assert _api(ops_user).get(url.rsplit("=", 1)[0] + "=false").status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/orders/?client=0", "/api/v1/jobs/?pool=-3", "/api/v1/jobs/?order=999999"])
def test_an_id_that_names_nothing_filters_to_nothing(ops_user, url):
    """A filter is a question ("the orders of client 0?"): its answer is none, not an error."""
    answer = _api(ops_user).get(url)

    assert answer.status_code == 200
    assert answer.json()["count"] == 0


@pytest.mark.parametrize("url", ["/api/v1/orders/?client=abc", "/api/v1/jobs/?pool=1.5"])
def test_an_id_that_is_not_a_whole_number_is_refused_by_name(ops_user, url):
    answer = _api(ops_user).get(url)

    assert answer.status_code == 400
    assert list(answer.json()) == [url.split("?")[1].split("=")[0]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=two", "page"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("page_size=null", "page_size"),
        ("page_size=5&page_size=6", "page_size"),
    ],
)
def test_paging_out_of_range_is_refused_by_name(ops_user, query, field):
    answer = _api(ops_user).get(f"/api/v1/orders/?{query}")

    assert answer.status_code == 400
    assert list(answer.json()) == [field]


def test_a_page_past_the_last_is_not_found(ops_user):
    assert _api(ops_user).get("/api/v1/orders/?page=2").status_code == 404


def test_empty_free_text_filters_mean_any(ops_user):
    for url in ("/api/v1/orders/?search=", "/api/v1/tickets/?order=&search="):
        assert _api(ops_user).get(url).status_code == 200


def test_the_pages_sharing_the_filter_sets_still_read_an_empty_choice_as_any(client, ops_user):
    client.force_login(ops_user)

    assert client.get("/orders/?product_type=&status=&client=").status_code == 200


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/pools/{pool}/utilization/?hours=abc&hours=", "hours"),
        ("/api/v1/pools/{pool}/utilization/?hours=", "hours"),
        (
            "/api/v1/orders/quote/?product_type=model&product_type=dataset&size=small&priority=normal"
            "&data_sensitivity=public",
            "product_type",
        ),
    ],
)
def test_an_operations_query_parameter_given_twice_or_empty_is_refused_by_name(ops_user, url, field):
    from tests.factories import compute_pool

    answer = _api(ops_user).get(url.format(pool=compute_pool().pk))

    assert answer.status_code == 400
    assert list(answer.json()) == [field]
