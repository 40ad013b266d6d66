"""Brute-force defence: repeated failed sign-ins lock the account from that address with a clear message,
on the sign-in page and on the API token endpoint; sign-ins, failures and refusals are logged."""

import logging

import pytest
from axes.utils import reset

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def victim(db):
    return UserFactory(username="victim")


def _post(client, url, data):
    """The sign-in page takes a form; the API, JSON."""
    return client.post(url, data, content_type="application/json") if url == TOKEN else client.post(url, data)


def _fail(client, url, times, username="victim"):
    """`times` failed attempts; the one that reaches the limit is already answered with the lock (429)."""
    for _ in range(times):
        response = _post(client, url, {"username": username, "password": "wrong-guess"})
        assert response.status_code in (200, 400, 429)


def test_five_failures_lock_the_sign_in_page_even_for_the_right_password(client, victim, settings):
    _fail(client, LOGIN, settings.AXES_FAILURE_LIMIT - 1)
    assert client.post(LOGIN, {"username": "victim", "password": "still-wrong"}).status_code == 429

    locked = client.post(LOGIN, {"username": "victim", "password": PASSWORD})

    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-ins" in page
    assert "locked for 15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_account_and_address_so_others_still_sign_in(client, victim, ops_user, settings):
    _fail(client, LOGIN, settings.AXES_FAILURE_LIMIT)

    response = client.post(LOGIN, {"username": "ops-user", "password": PASSWORD})

    assert response.status_code == 302


def test_an_administrator_unlocks_the_account(client, victim, settings):
    _fail(client, LOGIN, settings.AXES_FAILURE_LIMIT)
    reset(username="victim")

    assert client.post(LOGIN, {"username": "victim", "password": PASSWORD}).status_code == 302


def test_a_success_before_the_limit_clears_the_count(client, victim, settings):
    _fail(client, LOGIN, settings.AXES_FAILURE_LIMIT - 1)
    assert client.post(LOGIN, {"username": "victim", "password": PASSWORD}).status_code == 302
    client.post("/accounts/logout/")

    _fail(client, LOGIN, settings.AXES_FAILURE_LIMIT - 1)

    assert client.post(LOGIN, {"username": "victim", "password": PASSWORD}).status_code == 302


def test_the_api_token_endpoint_locks_too_with_a_json_answer(client, victim, settings):
    _fail(client, TOKEN, settings.AXES_FAILURE_LIMIT - 1)
    _post(client, TOKEN, {"username": "victim", "password": "wrong"})

    response = _post(client, TOKEN, {"username": "victim", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert "token" not in response.json()


def test_sign_ins_failures_and_refusals_are_logged(client, victim, client_a, caplog):
    caplog.set_level(logging.INFO)
    client.post(LOGIN, {"username": "victim", "password": "wrong"})
    client.post(LOGIN, {"username": "victim", "password": PASSWORD})
    client.force_login(client_a)
    client.get("/orders/")
    client.get("/api/v1/pools/")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "login failed" in logged.lower()
    assert "successful login" in logged.lower()
    assert "access denied: user=client-a-user path=/orders/" in logged
    assert "access denied: user=client-a-user path=/api/v1/pools/" in logged
