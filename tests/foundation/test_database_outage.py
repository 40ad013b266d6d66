"""The database going away for a moment: pages and the API answer 503 "try again" (nothing half done), and
the next request after it is back simply works."""

import socket

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def outage(monkeypatch):
    """Point the connection at a port where nothing listens; undone at the end of the test or by calling it."""

    def start():
        connection.close()
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", str(_closed_port()))

    def end():
        connection.close()
        monkeypatch.undo()

    return start, end


def test_pages_and_api_say_try_again_and_recover(client, ops_user, outage):
    start, end = outage
    client.force_login(ops_user)
    client.raise_request_exception = False
    assert client.get("/orders/").status_code == 200

    start()
    page = client.get("/orders/")
    api = client.get("/api/v1/orders/")
    end()

    assert page.status_code == 503
    assert "not answering right now" in page.content.decode()
    assert page["Retry-After"] == "30"
    assert api.status_code == 503
    assert "not answering right now" in api.json()["detail"]
    assert client.get("/orders/").status_code == 200
    assert client.get("/api/v1/orders/").status_code == 200


def test_healthz_reports_the_outage(client, outage):
    start, end = outage
    start()
    response = client.get("/healthz")
    end()

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
    assert client.get("/healthz").json()["database"] == "ok"
