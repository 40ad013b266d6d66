"""Every answer under /api/ is JSON in the API's one error shape, whatever went wrong; the site's pages keep
their HTML error pages."""

import pytest
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from factory import urls as project_urls

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(user)
    return api


def _is_error_shape(answer, status: int) -> bool:
    return (
        answer.status_code == status
        and answer["Content-Type"] == "application/json"
        and list(answer.json()) == ["detail"]
    )


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/no-such-thing/",
        "/api/v1/orders/abc/",
        "/api/v1/tickets/abc/",
        "/api/v1/reviews/1.5/",
        "/api/v1/orders/1/no-such-action/",
        "/api/",
        "/api/v2/orders/",
    ],
)
def test_an_unknown_api_route_or_a_non_integer_id_is_a_json_404(ops_user, url):
    assert _is_error_shape(_api(ops_user).get(url), 404)


def test_an_unknown_api_route_is_a_json_404_without_signing_in_too():
    assert _is_error_shape(APIClient().get("/api/v1/no-such-thing/"), 404)


def test_a_method_the_api_route_does_not_take_is_a_json_405(ops_user):
    assert _is_error_shape(_api(ops_user).delete("/api/v1/orders/"), 405)
    assert _is_error_shape(_api(ops_user).put("/api/v1/auth/token/", {}), 405)


def _crash(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/crash/", _crash), path("crash/", _crash), *project_urls.urlpatterns]
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.mark.urls(__name__)
def test_a_crash_under_the_api_is_a_json_500_and_a_page_elsewhere():
    http = Client(raise_request_exception=False)

    assert _is_error_shape(http.get("/api/v1/crash/"), 500)
    page = http.get("/crash/")
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


def test_an_unknown_page_outside_the_api_is_still_the_html_404(ops_user):
    http = Client()
    http.force_login(ops_user)

    answer = http.get("/no-such-page/")

    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")
    assert b"There is nothing here" in answer.content
