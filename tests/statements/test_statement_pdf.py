"""The statement PDF: Chinese text embedded and readable back, empty sections, page footers, the font fallback."""

import io
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.utils import translation
from pypdf import PdfReader

from statements.pdf import statement_pdf

SHANGHAI = ZoneInfo("Asia/Shanghai")
TITLE = "客服知识库问答模型"
CLIENT = "杭州市第一人民医院"
WORKSHOPS = ("Data workshop", "Training workshop", "Evaluation workshop", "Delivery workshop")


def _order(reference, title):
    return {
        "reference": reference,
        "title": title,
        "status_label": "Delivered",
        "delivered_on": "2026-11-20",
        "quoted_compute": "120.00",
        "quoted_cost": "4320.00",
        "compute": "118.50",
        "cost": "4266.00",
        "workshops": [
            {
                "workshop_label": label,
                "planned_compute": "30.00",
                "planned_cost": "1080.00",
                "compute": "29.625",
                "cost": "1066.50",
            }
            for label in WORKSHOPS
        ],
    }


def _statement(orders=(), tickets=(), ratings=None):
    ratings = ratings or {"orders": [], "order_mean": None, "ticket_mean": None}
    return SimpleNamespace(
        reference="ST-202611-0007",
        client_name=CLIENT,
        kind_label="Monthly",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        issued_at=datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI),
        figures={
            "currency": "CNY",
            "orders": list(orders),
            "totals": {
                "quoted_compute": "240.00",
                "quoted_cost": "8640.00",
                "compute": "237.00",
                "cost": "1234567.00",
            },
            "tickets": list(tickets),
            "ticket_summary": {"opened": len(tickets), "first_response_met": 1, "resolution_met": 1, "breached": 1},
            "ratings": ratings,
        },
    )


def _full_statement():
    tickets = [
        {
            "reference": "TCK-2026-00003",
            "subject": "模型回答偶尔超时",
            "severity_label": "High",
            "status_label": "Resolved",
            "opened_at": "2026-11-03T09:00:00+08:00",
            "first_response_met": True,
            "resolution_met": False,
            "rating": 4,
        },
        {
            "reference": "TCK-2026-00009",
            "subject": "Invoice question",
            "severity_label": "Low",
            "status_label": "Open",
            "opened_at": "2026-11-28T17:30:00+08:00",
            "first_response_met": None,
            "resolution_met": None,
            "rating": None,
        },
    ]
    ratings = {
        "orders": [{"reference": "ORD-2026-00012", "rating": 5, "comment": "交付准时"}],
        "order_mean": "4.50",
        "ticket_mean": "4.00",
    }
    orders = [_order("ORD-2026-00012", TITLE), _order("ORD-2026-00013", "A very long title " * 8)]
    return _statement(orders=orders, tickets=tickets, ratings=ratings)


def _text(data):
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_the_text_reads_back_with_chinese_and_formatted_figures():
    with translation.override("en"):
        data = statement_pdf(statement=_full_statement())

    text = "\n".join(_text(data))
    assert data.startswith(b"%PDF")
    for expected in ("ST-202611-0007", TITLE, CLIENT, "1,234,567.00", "8,640.00", "TCK-2026-00003", "交付准时"):
        assert expected in text
    assert "1 Nov 2026" in text
    assert "30 Nov 2026" in text


def test_metadata_and_chinese_rendering():
    with translation.override("zh-hans"):
        data = statement_pdf(statement=_full_statement())

    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata["/Title"] == "ST-202611-0007"
    assert reader.metadata["/Author"] == "AI工厂控制中心"  # the product name already has its translation
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert TITLE in text
    assert "2026年11月1日" in text


def test_an_empty_statement_says_so_in_each_section():
    with translation.override("en"):
        text = " ".join(" ".join(_text(statement_pdf(statement=_statement()))).split())

    assert "No orders delivered or in production in this period." in text
    assert "No tickets opened in this period." in text
    assert "No ratings in this period." in text


def test_many_orders_span_pages_each_with_the_footer():
    orders = [_order(f"ORD-2026-{number:05d}", TITLE) for number in range(300)]
    with translation.override("en"):
        pages = _text(statement_pdf(statement=_statement(orders=orders)))

    assert len(pages) > 5
    for number, text in enumerate(pages, start=1):
        assert "ST-202611-0007" in text
        assert f"Page {number}" in text


def test_a_missing_font_falls_back_to_the_cid_font(settings):
    settings.STATEMENT_FONT_PATH = "/nonexistent/font.ttc"
    with translation.override("en"):
        data = statement_pdf(statement=_full_statement())

    assert data.startswith(b"%PDF")
    assert b"STSong-Light" in data
    assert TITLE in "\n".join(_text(data))
