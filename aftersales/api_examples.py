"""The examples of the after-sales API in /api/schema/ (factory.api_examples): the hospital's ticket on its delivered
order AF-2026-00042 (orders.api_examples), read by after-sales staff. A high ticket is answered within 4 hours and
resolved within 72 (the default SLA policies)."""

from django.utils.translation import gettext_lazy as _

from factory.api_examples import DaysAhead, example, page
from orders.api_examples import ORDER, ORDER_ID, SUBMITTED

OPENING = {
    "order": ORDER_ID,
    "category": "defect",
    "severity": "high",
    "subject": "Summaries drop the follow-up date",
    "body": "Since yesterday the summaries of the cardiology ward leave out the follow-up appointment.",
}


def _message(number: int, at: str, author: str, body: str, *, staff: bool, internal: bool = False) -> dict:
    return {"id": 40 + number, "at": at, "author": author, "from_staff": staff, "internal": internal, "body": body}


FIRST = _message(1, "2026-10-20T09:12:00+08:00", "li.na", OPENING["body"], staff=False)
REPLY = _message(
    2,
    "2026-10-20T10:05:00+08:00",
    "chen.jie",
    "Thank you: we reproduced it with dates written in words and are preparing a fix.",
    staff=True,
)
TICKET = {
    "id": 15,
    "reference": "TK-2026-00015",
    "order": ORDER_ID,
    "order_reference": ORDER["reference"],
    "category": OPENING["category"],
    "severity": OPENING["severity"],
    "status": "in_progress",
    "subject": OPENING["subject"],
    "opened_at": "2026-10-20T09:12:00+08:00",
    "first_response_due": "2026-10-20T13:12:00+08:00",
    "first_responded_at": "2026-10-20T10:05:00+08:00",
    "resolution_due": "2026-10-23T09:12:00+08:00",
    "resolved_at": None,
    "closed_at": None,
    "breached": False,
    "at_risk": False,
    "follow_up_order": None,
    "rating": None,
    "rating_comment": "",
    "messages": [FIRST, REPLY],
}
CLIENT_REPLY = "Also in the summaries of ward 5 from this morning."
INTERNAL_NOTE = "Cause: the date parser skips dates written as 'in two weeks'. Fix planned for model version 1.0.3."
RESOLVING = "Fixed in model version 1.0.3, deployed today: follow-up dates written in words are kept."
RESOLVED = {
    **TICKET,
    "status": "resolved",
    "resolved_at": "2026-10-22T16:30:00+08:00",
    "messages": [*TICKET["messages"], _message(3, "2026-10-22T16:30:00+08:00", "chen.jie", RESOLVING, staff=True)],
}
RATING = "Fixed within the promised time; an interim workaround would have helped the ward."
FOLLOW_UP = {
    "title": "Discharge-summary assistant: medication reconciliation",
    "requirements": "Compare the discharge medication with the admission medication and flag every change.",
    "requested_delivery": DaysAhead(90),
}

example(
    "tickets_list",
    summary=_("High-severity tickets in progress, the nearest SLA deadline first"),
    parameters={"status": "in_progress", "severity": "high", "sort": "urgency"},
    answer=page(TICKET),
)
example(
    "tickets_create",
    summary=_("A hospital reports a defect in its delivered model"),
    body=OPENING,
    status=201,
    answer={
        **TICKET,
        "status": "open",
        "first_responded_at": None,
        "messages": [FIRST],
    },
)
example(
    "tickets_retrieve",
    summary=_("A ticket with its thread"),
    parameters={"id": TICKET["id"]},
    answer=TICKET,
)
example(
    "tickets_messages_create",
    "reply",
    summary=_("A reply to the thread"),
    parameters={"id": TICKET["id"]},
    body={"body": CLIENT_REPLY, "internal": False},
    status=201,
    answer={
        **TICKET,
        "messages": [*TICKET["messages"], _message(3, "2026-10-20T11:30:00+08:00", "li.na", CLIENT_REPLY, staff=False)],
    },
)
example(
    "tickets_messages_create",
    "internal_note",
    summary=_("A staff note the client never sees"),
    parameters={"id": TICKET["id"]},
    body={"body": INTERNAL_NOTE, "internal": True},
    status=201,
    answer={
        **TICKET,
        "messages": [
            *TICKET["messages"],
            _message(3, "2026-10-20T11:40:00+08:00", "chen.jie", INTERNAL_NOTE, staff=True, internal=True),
        ],
    },
)
example(
    "tickets_status_create",
    summary=_("Staff resolve a ticket, telling the client how"),
    parameters={"id": TICKET["id"]},
    body={"status": "resolved", "note": RESOLVING},
    answer=RESOLVED,
)
example(
    "tickets_severity_create",
    summary=_("Staff raise a ticket to critical: its due times shorten"),
    parameters={"id": TICKET["id"]},
    body={"severity": "critical", "reason": "Every discharge summary of the cardiology ward is affected."},
    answer={
        **TICKET,
        "severity": "critical",
        "first_response_due": "2026-10-20T10:12:00+08:00",
        "resolution_due": "2026-10-21T09:12:00+08:00",
    },
)
example(
    "tickets_rate_create",
    summary=_("The client rates the resolution, which closes the ticket"),
    parameters={"id": TICKET["id"]},
    body={"score": 4, "comment": RATING},
    answer={
        **RESOLVED,
        "status": "closed",
        "closed_at": "2026-10-23T08:50:00+08:00",
        "rating": 4,
        "rating_comment": RATING,
    },
)
example(
    "tickets_follow_up_order_create",
    summary=_("Staff place a follow-up order from a ticket"),
    parameters={"id": TICKET["id"]},
    body=FOLLOW_UP,
    status=201,
    answer={
        **SUBMITTED,
        **FOLLOW_UP,
        "id": 57,
        "reference": "AF-2026-00057",
        "promised_delivery": "2026-12-04",
        "tracking_url": "https://aifactory.example.cn/track/Vb8nR2xKq5TzL9wYc3HmD7sJf4PgA6eU/",
        "created_at": "2026-10-23T10:15:00+08:00",
        "parent_order": ORDER_ID,
    },
)
