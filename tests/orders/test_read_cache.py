"""The tracking page and an order's API answer are served from kept copies, and every change shows at once."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

from factory import clock, kept, roles
from orders import read_cache, services
from orders.models import Order, OrderStatus
from tests.factories import order_at, place_order
from tests.orders.test_api import api_as, detail

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "factory.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def tracking(order_or_token) -> str:
    return reverse("tracking:order", args=[getattr(order_or_token, "tracking_token", order_or_token)])


def queries_of(call) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, len(queries)


# --- The tracking page ------------------------------------------------------------------------------------


def test_tracking_page_is_answered_from_its_copy_without_the_database(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    first = client.get(tracking(order))

    again, queries = queries_of(lambda: client.get(tracking(order)))

    assert again.status_code == 200
    assert queries == 0
    assert order.reference in again.content.decode()
    assert again.content.decode().count(order.reference) == first.content.decode().count(order.reference)


def test_a_status_change_shows_on_the_tracking_page_at_once(client, ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    assert "Submitted" in client.get(tracking(order)).content.decode()

    services.order_accept(order=order, actor=ops_user)

    page = client.get(tracking(order)).content.decode()
    assert "Accepted" in page
    assert "Submitted" not in page


def test_a_revoked_link_answers_404_at_once_though_its_page_was_kept(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    token = order.tracking_token
    assert client.get(tracking(token)).status_code == 200

    services.order_revoke_tracking_link(order=order, actor=client_a)

    assert client.get(tracking(token)).status_code == 404


def test_a_renewed_link_retires_the_kept_page_of_the_old_one(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    old = order.tracking_token
    assert client.get(tracking(old)).status_code == 200

    order = services.order_renew_tracking_link(order=order, actor=client_a)

    assert client.get(tracking(old)).status_code == 404
    assert client.get(tracking(order)).status_code == 200


def eta_on(page) -> str:
    return page.content.decode().split('class="delivery__date">')[1].split("</strong>")[0]


def test_a_new_eta_from_the_forecast_shows_at_once(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    before = eta_on(client.get(tracking(order)))

    services.orders_set_eta(etas={order.pk: clock.now() + timedelta(days=400)})

    after = eta_on(client.get(tracking(order)))
    assert after != before
    assert str((clock.now() + timedelta(days=400)).year) in after


def test_each_language_has_its_own_copy(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)

    english = client.get(tracking(order), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(tracking(order), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    again = client.get(tracking(order), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<html lang="en">' in english
    assert '<html lang="zh-hans">' in chinese
    assert "Order tracking" in english
    assert "Order tracking" not in chinese
    assert again == english


def test_the_public_page_sets_no_cookie_and_switches_language_in_its_address(org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    visitor = Client(enforce_csrf_checks=True)

    english = visitor.get(tracking(order))
    chinese = visitor.get(tracking(order), {"lang": "zh-hans"})

    assert not english.cookies
    assert not chinese.cookies
    assert "csrfmiddlewaretoken" not in english.content.decode()
    assert '<select id="language-select" name="lang"' in english.content.decode()
    assert '<html lang="zh-hans">' in chinese.content.decode()
    assert chinese["Content-Language"] == "zh-hans"
    assert '<html lang="en">' in visitor.get(tracking(order), {"lang": "klingon"}).content.decode()


def test_signed_in_visitors_see_the_same_public_page(client, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(client_a)

    page = client.get(tracking(order)).content.decode()

    assert 'class="sidebar"' not in page
    assert "Sign out" not in page
    assert client_a.username not in page


def test_a_link_not_shaped_like_ours_is_404_without_a_lookup(client):
    response, queries = queries_of(lambda: client.get(tracking("x" * 200)))

    assert response.status_code == 404
    assert queries == 0


# --- The order API ----------------------------------------------------------------------------------------


def test_order_api_answers_from_its_copy_and_the_kept_token(ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)
    first = api.get(detail(order)).json()

    again, queries = queries_of(lambda: api.get(detail(order)))

    assert again.status_code == 200
    assert queries == 0
    assert again.json() == first


def test_order_api_reads_the_kept_token_and_answer_in_one_round_trip(monkeypatch, ops_user, org_a, client_a):
    from django.core.cache import cache

    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)
    api.get(detail(order))
    reads = []
    get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys, **kwargs: reads.append(keys) or get_many(keys, **kwargs))

    assert api.get(detail(order)).status_code == 200
    assert len(reads) == 1
    assert api.get(f"/api/v1/orders/{order.pk}x/").status_code == 404
    assert api.get("/api/v1/orders/²/").status_code == 404


def test_a_copy_kept_for_staff_is_not_shown_to_another_client(ops_user, org_a, client_a, client_b):
    order = place_order(client=org_a, actor=client_a)
    assert api_as(ops_user).get(detail(order)).status_code == 200

    assert api_as(client_b).get(detail(order)).status_code == 404
    assert api_as(client_a).get(detail(order)).status_code == 200


def test_the_tracking_url_names_the_host_each_caller_used(ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)

    first = api.get(detail(order), HTTP_HOST="127.0.0.1").json()["tracking_url"]
    second = api.get(detail(order), HTTP_HOST="localhost").json()["tracking_url"]

    assert first == f"http://127.0.0.1/track/{order.tracking_token}/"
    assert second == f"http://localhost/track/{order.tracking_token}/"


def test_status_and_compute_changes_show_in_the_api_at_once(ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    api = api_as(ops_user)
    api.get(detail(order))

    services.orders_set_compute(totals={(order.pk, order.stages.first().pk): (Decimal("12.5"), Decimal("375"))})
    assert api.get(detail(order)).json()["compute_cost"] == "375.00"

    services.order_set_priority(order=order, actor=ops_user, priority="high", reason="Escalated by the client")
    assert api.get(detail(order)).json()["priority"] == "high"


def test_an_admin_edit_shows_at_once(rf, ops_user, org_a, client_a):
    from django.contrib import admin

    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)
    api.get(detail(order))
    order.title = "Renamed in the admin"

    admin.site._registry[Order].save_model(rf.post("/"), order, form=None, change=True)

    assert api.get(detail(order)).json()["title"] == "Renamed in the admin"


def test_the_kept_answer_also_serves_the_browsable_api_and_indented_json(ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)
    compact = api.get(detail(order))

    browsable = api.get(detail(order), HTTP_ACCEPT="text/html")
    indented = api.get(detail(order), HTTP_ACCEPT="application/json; indent=4")

    assert compact["Content-Type"] == "application/json"
    assert b"\n" not in compact.content
    assert browsable.status_code == 200
    assert "text/html" in browsable["Content-Type"]
    assert order.reference in browsable.content.decode()
    assert b'\n    "id"' in indented.content
    assert indented.json() == compact.json()


def test_no_copies_are_kept_when_turned_off(settings, ops_user, org_a, client_a):
    settings.ORDER_READ_CACHE_SECONDS = 0
    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)
    api.get(detail(order))

    _response, queries = queries_of(lambda: api.get(detail(order)))

    assert queries > 0


# --- The kept token ---------------------------------------------------------------------------------------


def test_a_deleted_token_is_refused_at_once(ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)
    assert api.get(detail(order)).status_code == 200

    Token.objects.filter(user=ops_user).delete()

    assert api.get(detail(order)).status_code == 401


def test_a_deactivated_user_is_refused_at_once(ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)
    assert api.get(detail(order)).status_code == 200

    ops_user.is_active = False
    ops_user.save()

    assert api.get(detail(order)).status_code == 401


def test_a_removed_role_is_refused_at_once(ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    api = api_as(ops_user)
    assert api.get(detail(order)).status_code == 200

    ops_user.groups.remove(Group.objects.get(name=roles.OPERATIONS))

    assert api.get(detail(order)).status_code == 403


def test_the_kept_token_holds_neither_the_token_nor_the_password_hash(ops_user, settings):
    from django.core.cache import cache

    # A cache in memory whatever CACHE_URL says, so that every key and (pickled) value it holds can be read.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "token"}}
    key = Token.objects.create(user=ops_user).key
    assert api_as(ops_user).get("/api/v1/orders/").status_code == 200

    held = repr(list(cache._cache.items()))
    assert "api-token:" in held
    assert key not in held
    assert ops_user.password.split("$")[-1] not in held


# --- Copies and marks -------------------------------------------------------------------------------------


def test_a_copy_read_before_a_change_is_refused_and_one_read_after_is_served():
    before = kept.reading_starts()
    kept.mark_changed(["subject:changed"])
    after = kept.reading_starts()

    kept.keep("subject:old", "old", read_at=before, seconds=30)
    kept.keep("subject:new", "new", read_at=after, seconds=30)

    assert kept.fetch("subject:old", ["subject:changed"]) is None
    assert kept.fetch("subject:new", ["subject:changed"]) == "new"


def test_a_change_marks_again_at_commit(django_capture_on_commit_callbacks, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    with django_capture_on_commit_callbacks() as callbacks:
        read_cache.orders_changed(order_ids=[order.pk])
    # A copy built from the rows before the commit, after the first mark:
    read_cache.keep(read_cache.ORDER_API, order.pk, "en", "stale", read_at=kept.reading_starts())

    for callback in callbacks:
        callback()

    assert len(callbacks) == 1
    assert read_cache.copy_of(read_cache.ORDER_API, order.pk, "en") is None


def test_pages_and_api_answer_from_the_database_when_the_cache_is_down(settings, caplog, ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    settings.CACHES = UNREACHABLE_REDIS

    with caplog.at_level(logging.WARNING, logger="factory.kept"):
        page = Client().get(tracking(order))
        answer = api_as(ops_user).get(detail(order))
        services.order_accept(order=Order.objects.get(pk=order.pk), actor=ops_user)

    assert page.status_code == 200
    assert answer.status_code == 200
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ACCEPTED
    assert "Cache unreachable" in caplog.text


def test_a_copy_never_outlives_the_marks_that_refuse_it(monkeypatch):
    from django.core.cache import cache

    timeouts = []
    set_copy = cache.set
    monkeypatch.setattr(
        cache, "set", lambda key, value, timeout: timeouts.append(timeout) or set_copy(key, value, timeout)
    )

    kept.keep("subject:copy", "value", read_at=kept.reading_starts(), seconds=24 * 3600)

    assert timeouts == [kept.COPY_SECONDS_MAX]
    assert kept.COPY_SECONDS_MAX < kept.MARK_SECONDS
