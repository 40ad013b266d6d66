"""The examples of the webhooks API in /api/schema/ (factory.api_examples): the hospital's endpoint for its orders'
acceptance and delivery (registered with its own signing secret, which no answer holds), and the delivery of its
order AF-2026-00042's acceptance (orders.api_examples), which its server refused twice before taking it."""

from django.utils.translation import gettext_lazy as _

from factory.api_examples import example, page

URL = "https://hooks.qinghe-hospital.example.cn/factory"
EVENTS = ["order_accepted", "order_delivered"]
# The hospital's own secret: it is sent once, here, and never answered.
REGISTERING = {"url": URL, "events": EVENTS, "secret": "q3Vn8XbT2mKd7RfYh5Lc9WzA1pEs6GuJ"}
ENDPOINT = {
    "id": 3,
    "url": URL,
    "events": EVENTS,
    "active": True,
    "created_at": "2026-09-28T10:20:00+08:00",
    "disabled_at": None,
}
DELIVERY = {
    "id": 88,
    "event_id": "evt_5e0c2f9a71d4b8e3c6a1f027",
    "event": "order_accepted",
    "status": "delivered",
    "attempts": 3,
    "last_status_code": 200,
    "last_error": "",
    "at": "2026-09-28T11:02:00+08:00",
    "next_attempt_at": "2026-09-28T11:05:00+08:00",
    "delivered_at": "2026-09-28T11:05:00+08:00",
}

example(
    "webhooks_list",
    summary=_("The hospital's endpoints, newest first"),
    parameters={"sort": "newest"},
    answer=page(ENDPOINT),
)
example(
    "webhooks_create",
    summary=_("A hospital registers its server for acceptances and deliveries"),
    body=REGISTERING,
    status=201,
    answer=ENDPOINT,
)
example("webhooks_retrieve", summary=_("One endpoint (never its secret)"), parameters={"id": 3}, answer=ENDPOINT)
example(
    "webhooks_disable_create",
    summary=_("The hospital stops the endpoint"),
    parameters={"id": 3},
    answer={**ENDPOINT, "active": False, "disabled_at": "2026-10-30T17:45:00+08:00"},
)
example(
    "webhooks_deliveries_list",
    summary=_("An acceptance its server took at the third attempt"),
    parameters={"id": 3},
    answer=page(DELIVERY),
)
example(
    "webhook_deliveries_resend_create",
    summary=_("The acceptance sent again: the same event id, due now"),
    parameters={"id": DELIVERY["id"]},
    answer={**DELIVERY, "status": "pending", "next_attempt_at": "2026-09-29T09:00:00+08:00"},
)
