"""The examples of the security API in /api/schema/ (factory.api_examples): the model workshop's gate of order
AF-2026-00042 (orders.api_examples). The order's data is sensitive, so the gate needs two reviewers' approvals."""

from django.utils.translation import gettext_lazy as _

from factory.api_examples import example, page
from orders.api_examples import ORDER, ORDER_ID, STEP_IDS

CHECKLIST = [
    "Evaluation results on the held-out benchmark meet the order's acceptance thresholds.",
    "Bias and fairness checks show no unacceptable disparity between groups.",
    "Robustness checks (perturbed and out-of-distribution inputs) pass.",
    "Harmful-output tests found no unmitigated harmful generations.",
    "The model card states intended use, limits and training data.",
]
NOTES = [
    "Key-finding F1 0.91 on the 2,000 held-out discharge notes; the order asks for 0.85.",
    "No gap above 2 points between age groups, sexes or wards.",
    "Typos, abbreviations and dictated notes: F1 drops by 0.03 at most.",
    "600 adversarial prompts: no dosage advice, no diagnosis.",
    "Intended use: drafting summaries that a doctor checks and signs.",
]
REVIEW = {
    "id": 9,
    "order": ORDER_ID,
    "order_reference": ORDER["reference"],
    "workshop": "model",
    "status": "pending",
    "sensitive": True,
    "gate_passage": 1,
    "approvals_required": 2,
    "approvals_given": 0,
    "approvals": [],
    "checklist": [
        {"position": position, "item": item, "passed": None, "note": ""}
        for position, item in enumerate(CHECKLIST, start=1)
    ],
    "findings": [],
    "reviewer": None,
    "opened_at": "2026-10-05T17:55:00+08:00",
    "decided_at": None,
}
ANSWERS = [{"position": position, "passed": True, "note": note} for position, note in enumerate(NOTES, start=1)]
FINDING = {"severity": "high", "text": "The model card does not say that the summaries must not be used for diagnosis."}

example(
    "reviews_list",
    summary=_("Model workshop gates waiting for a decision"),
    parameters={"status": "pending", "workshop": "model"},
    answer=page(REVIEW),
)
example(
    "reviews_retrieve",
    summary=_("A pending review with its checklist"),
    parameters={"id": REVIEW["id"]},
    answer=REVIEW,
)
example(
    "reviews_approve_create",
    summary=_("The second reviewer approves, which releases the gate"),
    parameters={"id": REVIEW["id"]},
    body={"checklist": ANSWERS},
    answer={
        **REVIEW,
        "status": "approved",
        "approvals_given": 2,
        "approvals": ["zhang.min", "wang.lei"],
        "checklist": [
            {**row, "passed": True, "note": note} for row, note in zip(REVIEW["checklist"], NOTES, strict=True)
        ],
        "reviewer": "wang.lei",
        "decided_at": "2026-10-06T11:30:00+08:00",
    },
)
example(
    "reviews_reject_create",
    summary=_("Reject with a finding: the model card goes back to production"),
    parameters={"id": REVIEW["id"]},
    body={"findings": [FINDING], "rework_steps": [STEP_IDS["model_card"]]},
    answer={
        **REVIEW,
        "status": "rejected",
        "findings": [FINDING],
        "reviewer": "zhang.min",
        "decided_at": "2026-10-06T09:40:00+08:00",
    },
)
