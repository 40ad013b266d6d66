"""Rate limits as integrators expect them: per user and per address, counted down in RateLimit-* headers, a 429
with Retry-After in the API's error shape once spent, and the sign-in lockout's 429 saying when to try again too.
Each test sets the rates it needs (the suite's own are out of reach: tests/conftest.py) on a cache emptied first."""

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from rest_framework.test import APIClient

from factory import settings as project_settings
from tests.factories import PASSWORD, UserFactory
from tests.orders.test_api import api_as

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"
SCHEMA = "/api/schema/"
DOCS = "/api/docs/"
HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest.fixture
def rates(settings):
    """rates(user="3/min", ...): these limits, the others left out of reach."""

    def set_rates(**given):
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**current, **given}}

    return set_rates


def figures(answer) -> tuple[int, int, int]:
    return tuple(int(answer[name]) for name in HEADERS)


def assert_refused_until_retry_after(answer, *, window: int):
    assert answer.status_code == 429
    assert 1 <= int(answer["Retry-After"]) <= window
    assert answer["Retry-After"] == answer["RateLimit-Reset"]
    assert answer["RateLimit-Remaining"] == "0"
    assert answer.json() == {"detail": f"Too many requests: call again in {answer['Retry-After']} seconds."}


def test_a_user_over_the_limit_is_refused_with_retry_after_in_the_error_shape(rates, ops_user):
    rates(user="3/min")
    api = api_as(ops_user)
    for _ in range(3):
        assert api.get(ME).status_code == 200

    refused = api.get(ME)

    assert_refused_until_retry_after(refused, window=60)
    assert refused["RateLimit-Limit"] == "3"


def test_answers_count_the_calls_left_down_in_their_headers(rates, ops_user):
    rates(user="5/min")
    api = api_as(ops_user)

    answers = [api.get(ME) for _ in range(3)] + [api.get("/api/v1/orders/")]

    assert [answer.status_code for answer in answers] == [200] * 4
    assert [figures(answer)[:2] for answer in answers] == [(5, 4), (5, 3), (5, 2), (5, 1)]
    assert all(1 <= figures(answer)[2] <= 60 for answer in answers)


def test_errors_after_the_count_carry_the_headers_too(rates, ops_user):
    rates(user="5/min")

    missing = api_as(ops_user).get("/api/v1/orders/999999/")

    assert missing.status_code == 404
    assert figures(missing)[:2] == (5, 4)


def test_one_users_spent_limit_does_not_touch_another(rates, ops_user, client_a):
    rates(user="2/min")
    spender = api_as(ops_user)
    for _ in range(3):
        spender.get(ME)
    assert spender.get(ME).status_code == 429

    other = api_as(client_a).get(ME)

    assert other.status_code == 200
    assert figures(other)[:2] == (2, 1)


def test_anonymous_callers_are_limited_per_address(rates):
    rates(anon="1/min")
    here, elsewhere = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    assert here.get(SCHEMA, {"format": "json"}).status_code == 200

    refused = here.get(SCHEMA, {"format": "json"})

    assert_refused_until_retry_after(refused, window=60)
    assert elsewhere.get(DOCS).status_code == 200


def test_a_signed_in_callers_calls_do_not_spend_their_addresss_anonymous_limit(rates, ops_user):
    rates(anon="1/min", user="1/min")
    assert api_as(ops_user).get(ME).status_code == 200

    assert APIClient().get(DOCS).status_code == 200


def test_the_token_endpoint_has_its_own_tighter_limit_per_address(rates, client_a):
    rates(token="2/min", anon="100/min")
    caller = Client()
    wrong = [
        caller.post(TOKEN, {"username": name, "password": "wrong"}, content_type="application/json")
        for name in ("someone", "someone-else")
    ]
    assert [answer.status_code for answer in wrong] == [400, 400]
    assert [figures(answer)[:2] for answer in wrong] == [(2, 1), (2, 0)]

    refused = caller.post(TOKEN, {"username": "client-a-user", "password": PASSWORD}, content_type="application/json")

    assert_refused_until_retry_after(refused, window=60)
    assert "token" not in refused.json()
    assert caller.get(DOCS)["RateLimit-Limit"] == "100"


def test_the_lockout_on_the_token_endpoint_says_when_to_try_again(client, settings):
    UserFactory(username="victim")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(TOKEN, {"username": "victim", "password": "wrong"}, content_type="application/json")

    locked = client.post(TOKEN, {"username": "victim", "password": PASSWORD}, content_type="application/json")

    assert locked.status_code == 429
    assert locked["Retry-After"] == str(15 * 60)
    assert set(locked.json()) == {"detail"}
    assert "Too many failed sign-ins" in locked.json()["detail"]


def test_the_lockout_on_the_sign_in_page_says_when_to_try_again(client, settings):
    UserFactory(username="victim")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "victim", "password": "wrong"})

    locked = client.post(LOGIN, {"username": "victim", "password": PASSWORD})

    assert locked.status_code == 429
    assert locked["Retry-After"] == str(15 * 60)
    assert "locked for 15 minutes" in locked.content.decode()


def test_calls_go_through_uncounted_when_the_cache_does_not_answer(rates, settings, caplog, ops_user):
    rates(user="1/min")
    settings.CACHES = {
        "default": {
            "BACKEND": "factory.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    api = api_as(ops_user)

    with caplog.at_level(logging.WARNING, logger="factory.throttling"):
        answers = [api.get(ME) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert "RateLimit-Limit" not in answers[0]
    assert "not counted against the user limit" in caplog.text


def test_a_rate_that_is_not_calls_per_window_stops_the_start(monkeypatch):
    monkeypatch.setenv("API_RATE_USER", "600 a minute")

    with pytest.raises(ImproperlyConfigured, match="API_RATE_USER"):
        project_settings._rate("API_RATE_USER", "600/min")


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return Client().get(SCHEMA, {"format": "json"}).json()


def test_every_operation_documents_429_with_retry_after_and_the_error_model(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            refused = operation["responses"]["429"]
            assert refused["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, path
            assert refused["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 0}, (method, path)


def test_answers_after_the_count_document_the_rate_limit_headers(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                documented = set(response.get("headers", {}))
                # Answered before the call is counted: authentication, permissions, a path no operation takes (an
                # id that is not a number), or the database going away, which may be before it (reading a token);
                # a 404 from an operation carries them (the test above).
                if status in ("401", "403", "404", "503"):
                    assert documented.isdisjoint(HEADERS), (method, path, status)
                else:
                    assert documented >= set(HEADERS), (method, path, status)
                    assert all(response["headers"][name]["required"] for name in HEADERS)
