"""One date and one date-time format per language, the same on pages and in flash messages."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from tests.factories import order_at, order_fields, place_order, ticket_fields

pytestmark = pytest.mark.django_db

ENGLISH_DAY = r"\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}"
ENGLISH_MOMENT = ENGLISH_DAY + r", \d{2}:\d{2}"
CHINESE_DAY = r"\d{4}年\d{1,2}月\d{1,2}日"
CHINESE_MOMENT = CHINESE_DAY + r" \d{2}:\d{2}"
# What Django's stock English formats wrote: "Dec. 27, 2026", "12/09/2026", "2026-12-27", "8:38 p.m.".
OTHER_FORMATS = r"[A-Z][a-z]+\. \d|\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}|[ap]\.m\."


def in_chinese(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})


def visible(response) -> str:
    """The page as read: without tags, so `<time datetime="2026-12-27">` machine attributes do not count."""
    return re.sub(r"<[^>]+>", " ", response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def place_through_the_portal(client) -> tuple[Order, list[str]]:
    fields = order_fields()
    fields["requested_delivery"] = fields["requested_delivery"].isoformat()
    review = client.post(reverse("portal:order-new"), fields)
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', review.content.decode())
    placed = client.post(reverse("portal:order-new"), {**dict(hidden), "confirm": "1"}, follow=True)
    return Order.objects.get(), messages_of(placed)


def test_the_placed_message_writes_the_promised_day_as_the_order_page_does(client, client_a):
    client.force_login(client_a)

    order, messages = place_through_the_portal(client)

    (message,) = messages
    day = re.search(ENGLISH_DAY, message).group()
    assert day == f"{order.promised_delivery.day} {order.promised_delivery:%b %Y}"
    assert day in visible(client.get(reverse("portal:order", args=[order.pk])))
    assert not re.search(OTHER_FORMATS, message)


def test_the_placed_message_in_chinese_writes_the_day_the_chinese_way(client, client_a):
    client.force_login(client_a)
    in_chinese(client)

    order, (message,) = place_through_the_portal(client)

    promised = order.promised_delivery
    assert f"{promised.year}年{promised.month}月{promised.day}日" in message


def test_a_ticket_message_ends_with_one_full_stop_after_the_due_time(client, org_a, client_a, ops_user):
    delivered = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)

    response = client.post(reverse("client_tickets:new"), {"order": delivered.pk, **ticket_fields()}, follow=True)

    (message,) = messages_of(response)
    assert re.search(ENGLISH_MOMENT + r"\.$", message), message
    assert ".." not in message


def test_staff_pages_write_days_and_times_as_the_portal_does(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(ops_user)

    for url in (reverse("orders:list"), reverse("orders:detail", args=[order.pk])):
        page = visible(client.get(url))
        assert re.search(ENGLISH_DAY, page), url
        assert not re.search(OTHER_FORMATS, page), (url, re.search(OTHER_FORMATS, page))


def test_staff_pages_in_chinese_write_days_and_times_the_chinese_way(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(ops_user)
    in_chinese(client)

    page = visible(client.get(reverse("orders:detail", args=[order.pk])))

    assert re.search(CHINESE_MOMENT, page)
    assert not re.search(ENGLISH_DAY, page)
    assert not re.search(OTHER_FORMATS, page)


def test_the_factory_clock_reads_like_every_other_time(client, ops_user):
    client.force_login(ops_user)

    page = client.get("/").content.decode()

    clock = page[page.index('class="clock"') : page.index("</time>", page.index('class="clock"'))]
    assert re.search(ENGLISH_MOMENT, clock)


def test_an_admin_event_title_reads_in_the_site_time_zone(ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    event = order.events.first()

    assert f"{timezone.localtime(event.at):%H:%M}" in str(event)
