"""Lists exported as CSV and XLSX (factory.exports): what a download holds, that it keeps the filters set, and that
a large one streams within a stated memory bound."""

import csv
import io
import re
import tracemalloc
import zipfile
from datetime import timedelta

import pytest

from factory import clock
from factory.exports import export_response
from orders.models import OrderStatus
from tests.factories import client_user, order_at, place_order

pytestmark = pytest.mark.django_db

# 100,000 rows of 8 cells: the bound is what the export may hold at its peak, not the size of the file.
ROWS = 100_000
MEMORY_BOUND_MB = 24


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(chunk if isinstance(chunk, bytes) else chunk.encode() for chunk in response.streaming_content)
    return response.content


def _xlsx_rows(data: bytes) -> list[str]:
    """The rows of the first sheet, each as its cells' text joined by |, shared strings resolved."""
    book = zipfile.ZipFile(io.BytesIO(data))
    names = book.namelist()
    shared = []
    if "xl/sharedStrings.xml" in names:
        shared = re.findall(r"<t[^>]*>(.*?)</t>", book.read("xl/sharedStrings.xml").decode())
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    rows = []
    for row in re.findall(r"<row [^>]*>(.*?)</row>", sheet):
        cells = []
        for attributes, body in re.findall(r"<c ([^>]*?)(?:/>|>(.*?)</c>)", row):
            if inline := re.search(r"<t[^>]*>(.*?)</t>", body):
                cells.append(inline.group(1))
            elif value := re.search(r"<v>(.*?)</v>", body):
                cells.append(shared[int(value.group(1))] if 't="s"' in attributes else value.group(1))
            else:
                cells.append("")
        rows.append("|".join(cells))
    return rows


def _synthetic_rows(count: int):
    start = clock.now()
    for number in range(count):
        yield (
            f"AF-2026-{number:05d}",
            f"Model {number} 影像模型",
            "Organization A",
            "In production",
            start,
            None,
            1.5,
            number,
        )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_hundred_thousand_rows_export_within_the_memory_bound(fmt):
    header = ["Reference", "Title", "Client", "Status", "Placed", "Delivered", "PFLOPS·h", "Number"]
    tracemalloc.start()
    try:
        response = export_response(name="orders", fmt=fmt, header=header, rows=_synthetic_rows(ROWS))
        size = 0
        first = b""
        if response.streaming and fmt == "csv":
            for chunk in response.streaming_content:
                size += len(chunk)
                first = first or chunk
        else:
            data = b"".join(response.streaming_content)
            size = len(data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < MEMORY_BOUND_MB * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MB"
    if fmt == "csv":
        assert size > ROWS * 40  # every row went out
        assert first.decode("utf-8").startswith("\ufeffReference,Title")
    else:
        sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
        assert f'<dimension ref="A1:H{ROWS + 1}"/>' in sheet  # the header and every row


def test_staff_export_the_orders_they_filtered_as_csv_and_xlsx(client, ops_user, org_a):
    chinese = place_order(client=org_a, actor=ops_user, title="胸部影像辅助诊断模型")
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a)
    client.force_login(ops_user)

    page = client.get("/orders/", {"status": "submitted"}).content.decode()
    assert 'href="/orders/?status=submitted&amp;export=csv"' in page

    rows = list(
        csv.reader(
            io.StringIO(_body(client.get("/orders/", {"status": "submitted", "export": "csv"})).decode("utf-8-sig"))
        )
    )
    assert rows[0][:3] == ["Reference", "Title", "Client"]
    assert [row[0] for row in rows[1:]] == [chinese.reference]
    assert rows[1][1] == "胸部影像辅助诊断模型"

    answer = client.get("/orders/", {"status": "delivered", "export": "xlsx"})
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert re.search(r'filename="orders-\d{8}\.xlsx"', answer["Content-Disposition"])
    sheet = _xlsx_rows(_body(answer))
    assert sheet[0].startswith("Reference|Title|Client")
    assert len(sheet) == 2
    assert sheet[1].startswith(f"{delivered.reference}|")


def test_the_export_speaks_the_readers_language_and_clients_have_none(client, ops_user, org_a):
    place_order(client=org_a, actor=ops_user)
    client.force_login(ops_user)
    client.cookies["django_language"] = "zh-hans"
    header = _body(client.get("/orders/", {"export": "csv"})).decode("utf-8-sig").splitlines()[0]
    assert header.startswith("编号")
    client.force_login(client_user(organization=org_a))
    assert client.get("/orders/", {"export": "csv"}).status_code in (302, 403)


def test_jobs_and_tickets_export_with_their_filters(client, ops_user, org_a):
    from dispatch import services as dispatch_services
    from tests.factories import compute_pool, open_ticket

    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=1000)
    running = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a)
    ticket = open_ticket(order=delivered, actor=client_user(organization=org_a), subject="Drift on night shifts")
    dispatch_services.dispatch_tick()
    client.force_login(ops_user)

    jobs = list(
        csv.reader(
            io.StringIO(_body(client.get("/dispatch/jobs/", {"state": "running", "export": "csv"})).decode("utf-8-sig"))
        )
    )
    assert jobs[0][:2] == ["Job", "Order"]
    assert {row[1] for row in jobs[1:]} == {running.reference}
    assert {row[5] for row in jobs[1:]} == {"Running"}

    tickets = _xlsx_rows(_body(client.get("/aftersales/tickets/", {"export": "xlsx"})))
    assert tickets[0].startswith("Reference|Subject|Order")
    assert tickets[1].startswith(f"{ticket.reference}|Drift on night shifts|{delivered.reference}")


def test_security_reviews_export_as_the_queue_shows_them(client, ops_user, reviewer, org_a):
    from security.services import reviews_open_for_waiting_gates

    waiting = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a)
    reviews_open_for_waiting_gates()
    client.force_login(reviewer)

    exported = client.get("/security/reviews/", {"export": "csv"})
    queue = list(csv.reader(io.StringIO(_body(exported).decode("utf-8-sig"))))

    assert queue[0][:3] == ["Order", "Client", "Workshop"]
    assert [(row[0], row[4]) for row in queue[1:]] == [(waiting.reference, "Pending")]


def test_an_orders_audit_timeline_exports_with_its_internal_events(client, ops_user, org_a):
    order = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a)
    client.force_login(ops_user)

    page = client.get(f"/orders/{order.pk}/").content.decode()
    exported = client.get(f"/orders/{order.pk}/", {"export": "csv"})
    timeline = list(csv.reader(io.StringIO(_body(exported).decode("utf-8-sig"))))

    assert f'href="/orders/{order.pk}/?export=xlsx"' in page
    assert timeline[0] == ["At", "Event", "From", "To", "Workshop", "By", "Note"]
    assert [row[3] for row in timeline[1:3]] == ["Submitted", "Accepted"]
    client.force_login(client_user(organization=org_a))
    assert client.get(f"/orders/{order.pk}/", {"export": "csv"}).status_code in (302, 403, 404)


def test_a_pools_utilization_exports_its_last_thirty_days(client, dispatcher, settings):
    from dispatch import services as dispatch_services
    from tests.factories import compute_pool

    settings.DISPATCH_BACKGROUND_LOAD = False
    pool = compute_pool(kind="training", capacity=400, name="gz-train-a")
    for back in (24 * 40, 3, 2, 1):
        dispatch_services.dispatch_tick(now=clock.now() - timedelta(hours=back))
    client.force_login(dispatcher)

    exported = client.get(f"/dispatch/pools/{pool.pk}/", {"export": "csv"})
    rows = list(csv.reader(io.StringIO(_body(exported).decode("utf-8-sig"))))

    assert 'filename="gz-train-a-utilization-' in exported["Content-Disposition"]
    assert rows[0][:2] == ["At", "Pool"]
    assert len(rows) == 4  # the header and the last three ticks; 40 days ago is out
    assert {row[4] for row in rows[1:]} == {"400.0"}
