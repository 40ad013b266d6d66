"""The examples of the orders API and of /me/ in /api/schema/ (factory.api_examples): one order of a hospital,
AF-2026-00042, through its life. Its stages, ETA and compute are what the factory would show for a medium model on
sensitive data; the other apps' examples (its jobs, its gate reviews, its tickets) tell of the same order."""

from django.utils.translation import gettext_lazy as _

from factory.api_examples import DaysAhead, example, page

HOSPITAL = {"client": 7, "client_name": "Qinghe Provincial People's Hospital"}
ORDER_ID = 42
# Steps of its model workshop: fine-tuning (finished), the hyperparameter sweep (running), the model card (last).
STEP_IDS = {"sft": 318, "hparam_sweep": 321, "model_card": 333}
PLACING = {
    "title": "Discharge-summary assistant",
    "product_type": "model",
    "sector": "healthcare",
    "requirements": "Summarise discharge notes for ward doctors: key findings, medication changes, follow-up dates.",
    "data_sensitivity": "sensitive",
    "size": "medium",
    "priority": "normal",
}

# In production: the data workshop's gate passed, the model workshop fine-tuning.
ORDER = {
    "id": ORDER_ID,
    "reference": "AF-2026-00042",
    **PLACING,
    **HOSPITAL,
    "status": "in_production",
    "requested_delivery": "2026-10-30",
    "promised_delivery": "2026-10-12",
    "quoted_compute_pflops_hours": 10138.0,
    "quoted_cost": "364968.00",
    "eta": "2026-10-09T16:00:00+08:00",
    "progress": 69,
    "current_workshop": "model",
    "stages": [
        {
            "workshop": "data",
            "status": "approved",
            "progress": 100,
            "started_at": "2026-09-02T09:00:00+08:00",
            "finished_at": "2026-09-09T17:40:00+08:00",
            "steps_total": 21,
            "steps_done": 21,
        },
        {
            "workshop": "model",
            "status": "in_progress",
            "progress": 34,
            "started_at": "2026-09-10T10:30:00+08:00",
            "finished_at": None,
            "steps_total": 18,
            "steps_done": 5,
        },
    ],
    "compute_pflops_hours": 4210.5,
    "compute_cost": "151578.00",
    "tracking_url": "https://aifactory.example.cn/track/kQ7m2Rf9TzW4bN8xLp3vHs6dYc1jGa5e/",
    "created_at": "2026-09-01T09:30:00+08:00",
    "accepted_at": "2026-09-01T14:10:00+08:00",
    "delivered_at": None,
    "closed_at": None,
    "rating": None,
    "rating_comment": "",
    "parent_order": None,
}
SUBMITTED = {
    **ORDER,
    "status": "submitted",
    "eta": None,
    "progress": 0,
    "current_workshop": None,
    "stages": [],
    "compute_pflops_hours": 0.0,
    "compute_cost": "0.00",
    "accepted_at": None,
}
ACCEPTED = {
    **SUBMITTED,
    "status": "accepted",
    "eta": "2026-10-09T16:00:00+08:00",
    "accepted_at": "2026-09-01T14:10:00+08:00",
    "stages": [
        {**stage, "status": "pending", "progress": 0, "started_at": None, "finished_at": None, "steps_done": 0}
        for stage in ORDER["stages"]
    ],
}
STARTED = {
    **ACCEPTED,
    "status": "in_production",
    "current_workshop": "data",
    "stages": [
        {**ACCEPTED["stages"][0], "status": "in_progress", "started_at": "2026-09-02T09:00:00+08:00"},
        *ACCEPTED["stages"][1:],
    ],
}
DELIVERED = {
    **ORDER,
    "status": "delivered",
    "eta": None,
    "progress": 100,
    "current_workshop": None,
    "stages": [
        ORDER["stages"][0],
        {
            **ORDER["stages"][1],
            "status": "approved",
            "progress": 100,
            "finished_at": "2026-10-05T17:50:00+08:00",
            "steps_done": 18,
        },
    ],
    "compute_pflops_hours": 9874.0,
    "compute_cost": "355464.00",
    "delivered_at": "2026-10-08T15:00:00+08:00",
}
CLOSED = {**DELIVERED, "status": "closed", "closed_at": "2026-10-09T10:20:00+08:00"}


def _event(number, at, actor, kind, kind_display, *, from_status=None, to_status=None, workshop=None, note=""):
    return {
        "id": 1200 + number,
        "at": at,
        "actor": actor,
        "kind": kind,
        "kind_display": kind_display,
        "from_status": from_status,
        "to_status": to_status,
        "workshop": workshop,
        "note": note,
    }


example(
    "orders_list",
    summary=_("Healthcare orders in production, soonest ETA first"),
    parameters={"status": "in_production", "sector": "healthcare", "sort": "eta"},
    answer=page(ORDER),
)
example(
    "orders_create",
    "client",
    summary=_("A hospital orders a model for its own organization"),
    body={**PLACING, "requested_delivery": DaysAhead(60)},
    status=201,
    answer={**SUBMITTED, "requested_delivery": DaysAhead(60)},
)
example(
    "orders_create",
    "staff",
    summary=_("Operations staff place an order for a client"),
    body={"client": HOSPITAL["client"], **PLACING, "requested_delivery": DaysAhead(60)},
    status=201,
    answer={**SUBMITTED, "requested_delivery": DaysAhead(60)},
)
example(
    "orders_quote_retrieve",
    summary=_("What a medium model on sensitive data would get now"),
    parameters={"product_type": "model", "size": "medium", "priority": "normal", "data_sensitivity": "sensitive"},
    answer={
        "promised_delivery": "2026-10-12",
        "estimated_compute_pflops_hours": 10138.0,
        "estimated_cost": "364968.00",
    },
)
example(
    "orders_retrieve",
    summary=_("An order in the model workshop"),
    parameters={"id": ORDER_ID},
    answer=ORDER,
)
example(
    "orders_events_list",
    summary=_("The timeline of an order's first days, as staff read it"),
    parameters={"id": ORDER_ID},
    answer=page(
        _event(1, "2026-09-01T09:30:00+08:00", "li.na", "submitted", "Order placed", to_status="submitted"),
        _event(
            2,
            "2026-09-01T14:10:00+08:00",
            "zhou.yang",
            "accepted",
            "Accepted",
            from_status="submitted",
            to_status="accepted",
        ),
        _event(
            3,
            "2026-09-02T09:00:00+08:00",
            "zhou.yang",
            "production_started",
            "Production started",
            from_status="accepted",
            to_status="in_production",
        ),
        _event(4, "2026-09-02T09:00:00+08:00", "zhou.yang", "stage_started", "Workshop started", workshop="data"),
        _event(
            5,
            "2026-09-02T11:45:00+08:00",
            None,
            "step_finished",
            "Step finished",
            workshop="data",
            note="Raw data intake and manifest",
        ),
    ),
)
example(
    "orders_accept_create",
    summary=_("Operations accept a submitted order"),
    parameters={"id": ORDER_ID},
    answer=ACCEPTED,
)
example(
    "orders_reject_create",
    summary=_("Operations reject a submitted order, saying why"),
    parameters={"id": ORDER_ID},
    body={
        "reason": "The data-sharing agreement with the hospital is not signed yet; place the order again once it is."
    },
    answer={**SUBMITTED, "status": "rejected"},
)
example(
    "orders_cancel_create",
    summary=_("The client cancels an order before it is accepted"),
    parameters={"id": ORDER_ID},
    body={"reason": "The project moves to next year's budget."},
    answer={**SUBMITTED, "status": "cancelled"},
)
example(
    "orders_start_production_create",
    summary=_("Production starts in the data workshop"),
    parameters={"id": ORDER_ID},
    answer=STARTED,
)
example(
    "orders_deliver_create",
    summary=_("Operations deliver an order whose last gate passed"),
    parameters={"id": ORDER_ID},
    answer=DELIVERED,
)
example(
    "orders_confirm_create",
    summary=_("The client confirms receipt, which closes the order"),
    parameters={"id": ORDER_ID},
    answer=CLOSED,
)
example(
    "orders_rate_create",
    summary=_("The client rates the delivered order"),
    parameters={"id": ORDER_ID},
    body={"score": 5, "comment": "Delivered before the promised date; the ward doctors use it every day."},
    answer={
        **CLOSED,
        "rating": 5,
        "rating_comment": "Delivered before the promised date; the ward doctors use it every day.",
    },
)
example(
    "orders_requirement_changes_create",
    summary=_("A changed requirement that redoes a finished step"),
    parameters={"id": ORDER_ID},
    body={
        "text": "The summaries must also list the discharge medication with doses.",
        "rework_steps": [STEP_IDS["sft"]],
    },
    status=201,
    answer={
        "id": 9,
        "order": ORDER_ID,
        "text": "The summaries must also list the discharge medication with doses.",
        "recorded_by": "zhou.yang",
        "recorded_at": "2026-09-16T15:20:00+08:00",
        "rework_steps": [STEP_IDS["sft"]],
    },
)
example(
    "me_retrieve",
    "client",
    summary=_("A client user"),
    answer={"username": "li.na", "roles": [], "organization": HOSPITAL["client_name"]},
)
example(
    "me_retrieve",
    "staff",
    summary=_("A member of the operations center"),
    answer={"username": "zhou.yang", "roles": ["operations"], "organization": None},
)
