"""The notifications API: every signed-in person, client or staff, lists their own notices (newest first, or only the
unread ones) with their words in the caller's language, and marks one or all of them read; another person's notice
is 404, as an unknown one is, and anonymous callers are refused 401."""

import pytest
from rest_framework.test import APIClient

from notifications import services
from notifications.models import Notice

pytestmark = pytest.mark.django_db

FIELDS = {"id", "kind", "event", "title", "line", "url", "created_at", "read_at"}


def _api(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def _accepted(user, n: int) -> Notice:
    """`user` hears that their order AF-2026-0000<n> was accepted."""
    services.notify(
        kind="order_accepted",
        event=f"order-accepted:{n}",
        recipients=[user],
        params={"reference": f"AF-2026-0000{n}", "title": f"Model {n}"},
        url=f"/portal/orders/{n}/",
    )
    return Notice.objects.get(recipient=user, event=f"order-accepted:{n}")


def _ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [row["id"] for row in answer.json()["results"]]


def test_a_client_lists_its_own_notices_newest_first_with_their_words(client_a, client_b, move_clock):
    first = _accepted(client_a, 1)
    move_clock(hours=1)
    second = _accepted(client_a, 2)
    _accepted(client_b, 3)

    answer = _api(client_a).get("/api/v1/notifications/")

    assert answer.json()["count"] == 2
    assert _ids(answer) == [second.pk, first.pk]
    row = answer.json()["results"][0]
    assert set(row) == FIELDS
    assert row | {"created_at": None} == {
        "id": second.pk,
        "kind": "order_accepted",
        "event": "order-accepted:2",
        "title": "Order AF-2026-00002 accepted",
        "line": "Model 2: the factory has planned its work.",
        "url": "/portal/orders/2/",
        "created_at": None,
        "read_at": None,
    }
    assert _ids(_api(client_a).get("/api/v1/notifications/", {"sort": "oldest"})) == [first.pk, second.pk]


def test_staff_have_their_own_notices_too(ops_user, client_a):
    _accepted(client_a, 1)
    services.notify(
        kind="order_late",
        event="order-late:1",
        recipients=[ops_user],
        params={"reference": "AF-2026-00001", "client": "Hospital", "promised": "1 Oct", "eta": "3 Oct"},
        url="/orders/1/",
    )

    (row,) = _api(ops_user).get("/api/v1/notifications/").json()["results"]

    assert (row["kind"], row["title"]) == ("order_late", "Order AF-2026-00001 is now expected after its promise")


def test_the_unread_filter(client_a, move_clock):
    read = _accepted(client_a, 1)
    move_clock(minutes=5)
    unread = _accepted(client_a, 2)
    services.notices_mark_read(user=client_a, notice_ids=[read.pk])
    api = _api(client_a)

    assert _ids(api.get("/api/v1/notifications/", {"unread": "true"})) == [unread.pk]
    assert _ids(api.get("/api/v1/notifications/", {"unread": "false"})) == [read.pk]
    assert _ids(api.get("/api/v1/notifications/")) == [unread.pk, read.pk]
    assert list(api.get("/api/v1/notifications/", {"unread": "maybe"}).json()) == ["unread"]


def test_a_client_reads_one_notice_and_reading_it_again_keeps_the_time(client_a, move_clock):
    notice = _accepted(client_a, 1)
    other = _accepted(client_a, 2)
    api = _api(client_a)

    answer = api.post(f"/api/v1/notifications/{notice.pk}/read/")

    assert answer.status_code == 200
    assert (answer.json()["id"], answer.json()["title"]) == (notice.pk, "Order AF-2026-00001 accepted")
    read_at = answer.json()["read_at"]
    assert read_at is not None
    move_clock(hours=1)
    assert api.post(f"/api/v1/notifications/{notice.pk}/read/").json()["read_at"] == read_at
    other.refresh_from_db()
    assert other.read_at is None  # only the one named


def test_another_persons_notice_is_not_found_and_stays_unread(client_a, client_b, ops_user):
    notice = _accepted(client_a, 1)

    for outsider in (client_b, ops_user):
        assert _api(outsider).post(f"/api/v1/notifications/{notice.pk}/read/").status_code == 404
    assert _api(client_a).post("/api/v1/notifications/999999/read/").status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_read_all_marks_only_the_callers_unread_notices(client_a, client_b):
    for n in (1, 2, 3):
        _accepted(client_a, n)
    services.notices_mark_read(user=client_a, notice_ids=[Notice.objects.filter(recipient=client_a).first().pk])
    theirs = _accepted(client_b, 4)
    api = _api(client_a)

    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 0}
    assert _ids(api.get("/api/v1/notifications/", {"unread": "true"})) == []
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_anonymous_callers_are_refused(client_a):
    notice = _accepted(client_a, 1)
    api = _api()

    assert api.get("/api/v1/notifications/").status_code == 401
    assert api.post(f"/api/v1/notifications/{notice.pk}/read/").status_code == 401
    assert api.post("/api/v1/notifications/read-all/").status_code == 401
    notice.refresh_from_db()
    assert notice.read_at is None


def test_the_words_follow_the_callers_language(client_a):
    _accepted(client_a, 1)
    api = _api(client_a)

    english = api.get("/api/v1/notifications/").json()["results"][0]
    chinese = api.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"][0]

    assert (english["title"], english["line"]) == (
        "Order AF-2026-00001 accepted",
        "Model 1: the factory has planned its work.",
    )
    # The kinds' words are translated already (locale/), so the caller's language is there from the start.
    assert chinese["title"] == "订单 AF-2026-00001 已受理"
    assert chinese["line"] == "Model 1：工厂已排定其生产计划。"  # noqa: RUF001 - Chinese text, Chinese punctuation
    assert {key: value for key, value in chinese.items() if key not in ("title", "line")} == {
        key: value for key, value in english.items() if key not in ("title", "line")
    }
