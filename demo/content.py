"""What the demo's people say: the client organizations, what they order and ask, how they rate, what reviewers
find and what staff answer. Client-authored text, so not translated.
"""

import random
from dataclasses import dataclass

from catalog.models import ProductType, Sector
from orders.models import DataSensitivity

# The demo organizations: key (names the simulated client user), name, sector. Invented names.
DEMO_ORGANIZATIONS = [
    ("qinghe-hospital", "Qinghe Provincial People's Hospital", Sector.HEALTHCARE),
    ("lanxi-data-bureau", "Lanxi City Government Data Bureau", Sector.GOVERNMENT),
    ("baishui-tcm-hospital", "Baishui County Hospital of Traditional Chinese Medicine", Sector.HEALTHCARE),
    ("yunlan-childrens-hospital", "Yunlan Children's Hospital", Sector.HEALTHCARE),
    ("qinghe-hrss-bureau", "Qinghe Provincial Human Resources and Social Security Bureau", Sector.GOVERNMENT),
    ("songping-market-bureau", "Songping District Market Regulation Bureau", Sector.GOVERNMENT),
    ("jinhai-rural-bank", "Jinhai Rural Commercial Bank", Sector.FINANCE),
    ("dongling-city-bank", "Dongling City Commercial Bank", Sector.FINANCE),
    ("hengtai-machinery", "Hengtai Precision Machinery Co., Ltd.", Sector.MANUFACTURING),
    ("xinghe-nev-works", "Xinghe New Energy Vehicle Works", Sector.MANUFACTURING),
    ("ruifeng-textiles", "Ruifeng Textile Group", Sector.MANUFACTURING),
    ("qinghe-normal-university", "Qinghe Normal University", Sector.EDUCATION),
    ("lanxi-vocational-college", "Lanxi Vocational and Technical College", Sector.EDUCATION),
]
ORGANIZATION_KEYS = {name: key for key, name, _sector in DEMO_ORGANIZATIONS}


@dataclass(frozen=True)
class OrderIdea:
    title: str
    product_type: str
    sensitivity: str
    requirements: str


PUB, INT, SEN = DataSensitivity.PUBLIC, DataSensitivity.INTERNAL, DataSensitivity.SENSITIVE
D, M, A, APP = ProductType.DATASET, ProductType.MODEL, ProductType.AGENT, ProductType.APPLICATION

# What each sector orders (client-authored content, so not translated).
ORDER_IDEAS = {
    Sector.HEALTHCARE: [
        OrderIdea(
            "Discharge-summary assistant",
            M,
            SEN,
            "Summarise discharge notes for ward doctors: key findings, medication changes, follow-up dates.",
        ),
        OrderIdea(
            "De-identified radiology report corpus",
            D,
            SEN,
            "Five years of CT and MRI reports, de-identified and labelled by body region and finding.",
        ),
        OrderIdea(
            "Outpatient triage agent",
            A,
            SEN,
            "Ask patients about symptoms on the hospital app and suggest the right department and urgency.",
        ),
        OrderIdea(
            "Chronic-disease follow-up application",
            APP,
            SEN,
            "Follow hypertension and diabetes patients after discharge: reminders, readings, alerts to nurses.",
        ),
        OrderIdea(
            "Medical-insurance claim audit model",
            M,
            INT,
            "Flag claims whose diagnosis, procedures and drugs do not fit together, with the reason.",
        ),
        OrderIdea(
            "Herbal prescription knowledge base",
            D,
            INT,
            "Structure the hospital's prescription handbook and formularies into a searchable dataset.",
        ),
    ],
    Sector.GOVERNMENT: [
        OrderIdea(
            "Policy Q&A model",
            M,
            INT,
            "Answer citizens' questions on local policies, quoting the article and its effective date.",
        ),
        OrderIdea(
            "Citizen-hotline work-order classifier",
            M,
            INT,
            "Route hotline work orders to the responsible department and detect duplicates.",
        ),
        OrderIdea(
            "Government-service guide agent",
            A,
            INT,
            "Guide applicants step by step through business licences, permits and their documents.",
        ),
        OrderIdea(
            "Archive digitisation dataset",
            D,
            INT,
            "OCR and field extraction of scanned archive files from 1990 to 2015, with quality checks.",
        ),
        OrderIdea(
            "One-stop service portal assistant",
            APP,
            INT,
            "An assistant embedded in the one-stop service portal, with handover to a human clerk.",
        ),
        OrderIdea(
            "Social-insurance enquiry agent",
            A,
            SEN,
            "Answer insured people's questions on contributions and benefits from their own records.",
        ),
    ],
    Sector.FINANCE: [
        OrderIdea(
            "Credit-risk early-warning model",
            M,
            SEN,
            "Warn account managers of small-business loans likely to default within 90 days.",
        ),
        OrderIdea(
            "Anti-fraud transaction dataset",
            D,
            SEN,
            "Label two years of card and mobile transactions for fraud patterns; personal data masked.",
        ),
        OrderIdea(
            "Mobile-banking customer-service agent",
            A,
            INT,
            "Answer customers in the mobile app and complete simple requests such as card freezes.",
        ),
        OrderIdea(
            "Compliance document review application",
            APP,
            INT,
            "Check marketing and product documents against the regulator's rules before release.",
        ),
        OrderIdea(
            "Loan-file extraction model",
            M,
            SEN,
            "Extract the key fields of loan applications and collateral documents into the core system.",
        ),
    ],
    Sector.MANUFACTURING: [
        OrderIdea(
            "Weld-seam defect detection model",
            M,
            INT,
            "Detect porosity, cracks and undercut on weld-seam images from the inspection cameras.",
        ),
        OrderIdea(
            "Equipment-maintenance knowledge agent",
            A,
            INT,
            "Help maintenance technicians diagnose machine faults from manuals and past repair tickets.",
        ),
        OrderIdea(
            "Production-line sensor dataset",
            D,
            INT,
            "Clean and align a year of vibration and temperature readings, with labelled failure events.",
        ),
        OrderIdea(
            "Quality traceability application",
            APP,
            INT,
            "Trace each batch from raw material to shipment and explain quality deviations.",
        ),
        OrderIdea(
            "Fabric-defect inspection model",
            M,
            PUB,
            "Spot weaving and dyeing defects on the finishing line at full line speed.",
        ),
    ],
    Sector.EDUCATION: [
        OrderIdea(
            "Course Q&A teaching-assistant agent",
            A,
            PUB,
            "Answer students' questions on course material at any hour, citing the lecture slides.",
        ),
        OrderIdea(
            "Essay feedback model",
            M,
            INT,
            "Give secondary-school students feedback on structure, argument and language of their essays.",
        ),
        OrderIdea(
            "Campus service application",
            APP,
            INT,
            "One assistant for library, canteen, dormitory and administrative questions on campus.",
        ),
        OrderIdea(
            "Exam item-bank dataset",
            D,
            INT,
            "Tag ten thousand exam items by knowledge point, difficulty and cognitive level.",
        ),
        OrderIdea(
            "Vocational skills tutoring agent",
            A,
            PUB,
            "Coach students through practical training tasks with step-by-step hints and checks.",
        ),
    ],
}

# A finding per gate that a reviewer may raise: (checklist position that fails, severity, text).
FINDINGS = {
    "data": [
        (1, "high", "Free-text fields still contain patient names and phone numbers in about 0.4% of records."),
        (5, "medium", "The dataset card lacks the checksum of the second delivery batch."),
    ],
    "model": [
        (1, "medium", "Accuracy on the held-out benchmark is 3 points below the acceptance threshold."),
        (4, "high", "Harmful-output tests found unmitigated answers to self-medication questions."),
    ],
    "agent": [
        (3, "high", "A retrieved document with an injected instruction made the agent reveal its system prompt."),
        (2, "medium", "The agent's booking tool can cancel appointments it did not create."),
    ],
    "integration": [
        (2, "high", "The penetration test found an unauthenticated admin endpoint on the staging deployment."),
        (1, "medium", "Audit logging is not enabled for the export function."),
    ],
}

TICKET_IDEAS = [
    ("defect", "high", "Answers cite a superseded regulation", "Since this week some answers quote the 2019 rules."),
    ("question", "low", "How do we export the evaluation report?", "We need the report as a PDF for our committee."),
    ("defect", "medium", "Slow responses at peak hours", "Between 9 and 11 a.m. answers take over ten seconds."),
    ("change_request", "medium", "Add the new department codes", "Three departments were renamed last month."),
    ("complaint", "medium", "Labels inconsistent in one batch", "Batch 7 uses two different labels for one class."),
    ("defect", "critical", "Service unavailable after the update", "Since the update this morning no request works."),
]
# Clients rate (weights of 5, 4, 3, 2 stars) and comment by whether the delivery kept its date.
RATINGS = {
    False: (
        [55, 36, 8, 1],
        {
            5: ["Delivered on time and works very well.", "Excellent work, our staff use it every day.", ""],
            4: ["Good result; the documentation could be clearer.", "Works well, a few rough edges.", ""],
            3: ["Does the job; accuracy is just enough."],
            2: ["Needed two rounds of fixes before we could use it."],
        },
    ),
    True: (
        [10, 45, 35, 10],
        {
            5: ["A little late, but worth the wait."],
            4: ["Good result, though a few days later than planned."],
            3: ["Acceptable, but later than we hoped."],
            2: ["Late, and it needed fixes before we could use it."],
        },
    ),
}
STAFF_REPLIES = {
    "first": "Thank you for the report. We are looking into it and will come back to you shortly.",
    "waiting": "Could you send us two or three examples (screenshots or request ids) so we can reproduce it?",
    "client_reply": "Here are three examples from yesterday; the request ids are in the attached list.",
    "resolved": "Fixed and redeployed; we verified it with your examples. Please confirm it works for you.",
}


def rating_for(rng: random.Random, *, late: bool = False) -> tuple[int, str]:
    weights, comments = RATINGS[bool(late)]
    score = rng.choices([5, 4, 3, 2], weights=weights)[0]
    return score, rng.choice(comments[score])


def approval_answers(review) -> dict:
    """Every checklist item of the review passed."""
    return {answer.position: {"passed": True, "note": ""} for answer in review.answers.all()}


def rejection(review, rng: random.Random) -> tuple[dict, dict]:
    """A finding of the review's workshop and the checklist answers that go with it (one item failed)."""
    position, severity, text = rng.choice(FINDINGS[review.workshop])
    positions = [answer.position for answer in review.answers.all()]
    failed = position if position in positions else (positions[0] if positions else None)
    answers = {pos: {"passed": pos != failed, "note": text if pos == failed else ""} for pos in positions}
    return {"severity": severity, "text": text}, answers
