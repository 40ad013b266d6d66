"""The examples of the notifications API in /api/schema/ (factory.api_examples): the hospital's client user reads the
notices of its order AF-2026-00042 (orders.api_examples, named here as text: this app knows no app above it), its
acceptance and its data workshop's gate, and marks them read."""

from django.utils.translation import gettext_lazy as _

from factory.api_examples import example, page

ACCEPTED = {
    "id": 412,
    "kind": "order_accepted",
    "event": "order-accepted:42",
    "title": "Order AF-2026-00042 accepted",
    "line": "Discharge-summary assistant: the factory has planned its work.",
    "url": "/portal/orders/42/",
    "created_at": "2026-09-28T11:02:00+08:00",
    "read_at": None,
}
GATE = {
    "id": 431,
    "kind": "gate_passed",
    "event": "gate-passed:118:1",
    "title": "Order AF-2026-00042 passed the Data workshop gate",
    "line": "Discharge-summary assistant moves on.",
    "url": "/portal/orders/42/",
    "created_at": "2026-10-03T16:40:00+08:00",
    "read_at": None,
}

example(
    "notifications_list",
    summary=_("The notices the hospital's client user has not read yet, newest first"),
    parameters={"unread": True},
    answer=page(GATE, ACCEPTED),
)
example(
    "notifications_read_create",
    summary=_("The acceptance's notice, read"),
    parameters={"id": ACCEPTED["id"]},
    answer={**ACCEPTED, "read_at": "2026-10-04T09:15:00+08:00"},
)
example("notifications_read_all_create", summary=_("Two notices were unread"), answer={"marked": 2})
