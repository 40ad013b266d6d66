"""Statements: what they hold, when they are issued, who reads them, and the order page's cost per workshop."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from factory import clock
from orders import services as order_services
from orders.costs import workshop_costs_of
from orders.models import Order, OrderStatus
from statements import services
from statements.models import Statement, StatementKind
from tests.factories import client_user, open_ticket, order_at

pytestmark = pytest.mark.django_db


# What each workshop of the order used and was charged, in routing order (PFLOPS·h, CNY).
CHARGES = [("10.00", "360.00"), ("30.00", "1080.00"), ("5.50", "198.00"), ("2.00", "72.00")]


def _charge(order: Order) -> list[str]:
    """Record what each of the order's workshops used, as the dispatch tick does from the jobs; their costs."""
    stages = list(order.stages.order_by("position"))
    charges = CHARGES[: len(stages)]
    order_services.orders_set_compute(
        totals={
            (order.pk, stage.pk): (Decimal(work), Decimal(cost))
            for stage, (work, cost) in zip(stages, charges, strict=True)
        }
    )
    order.refresh_from_db()
    return [cost for _work, cost in charges]


def _signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def _next_month(move_clock):
    """Move the factory clock into the first day of next month (at least a day on)."""
    today = timezone.localdate(clock.now())
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    move_clock(days=(first_next - today).days, hours=1)


@pytest.fixture
def delivered(ops_user, org_a, client_a):
    order = order_at(
        OrderStatus.DELIVERED,
        staff=ops_user,
        client=org_a,
        actor=client_a,
        title="客服知识库问答模型",
        product_type="agent",
    )
    order.charged = _charge(order)
    assert len(order.charged) == 3  # data, model, agent: three workshops, three different figures
    return order


def test_the_workshops_plans_add_up_to_the_quote_and_their_use_to_the_orders(delivered):
    rows = workshop_costs_of([delivered])[delivered.pk]

    assert [row.workshop for row in rows] == list(
        delivered.stages.order_by("position").values_list("workshop", flat=True)
    )
    assert sum(row.planned_cost for row in rows) == delivered.quoted_cost
    assert sum(row.planned_compute for row in rows) == delivered.quoted_compute_pflops_hours
    assert [row.cost for row in rows] == [Decimal(cost) for cost in delivered.charged]
    assert delivered.compute_cost == Decimal("1638.00")
    assert delivered.compute_pflops_hours == Decimal("45.50")


def test_a_monthly_statement_holds_the_months_deliveries_and_the_work_in_production(
    delivered, ops_user, org_a, org_b, client_a, move_clock
):
    in_production = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    elsewhere = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_b)
    ticket = open_ticket(order=delivered, actor=client_a, subject="回答引用了旧规定")
    _next_month(move_clock)

    issued = services.statements_issue_monthly()

    mine = next(statement for statement in issued if statement.client == org_a)
    assert {statement.client for statement in issued} == {org_a, org_b}
    references = [order["reference"] for order in mine.figures["orders"]]
    assert references == [delivered.reference, in_production.reference]
    assert elsewhere.reference not in references
    assert mine.figures["totals"]["cost"] == "1638.00"
    assert [row["cost"] for row in mine.figures["orders"][0]["workshops"]] == delivered.charged
    assert mine.figures["tickets"][0]["reference"] == ticket.reference
    assert mine.kind == StatementKind.MONTHLY
    assert mine.issued_by is None
    assert mine.period_start == timezone.localdate(delivered.delivered_at).replace(day=1)


def test_each_client_gets_one_monthly_statement_per_month(delivered, org_a, move_clock):
    _next_month(move_clock)
    first = services.statements_issue_monthly()

    assert services.statements_issue_monthly() == []
    assert Statement.objects.filter(client=org_a, kind=StatementKind.MONTHLY).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.create(
            reference="ST-copy",
            client=org_a,
            kind=StatementKind.MONTHLY,
            period_start=first[0].period_start,
            period_end=first[0].period_end,
            issued_at=clock.now(),
            figures={},
        )


def test_nothing_is_issued_for_the_month_still_running(delivered):
    issued = services.statements_issue_monthly()

    this_month = timezone.localdate(clock.now()).replace(day=1)
    assert all(statement.period_start < this_month for statement in issued)


def test_a_client_issues_its_statement_for_the_month_so_far_and_downloads_it(delivered, client_a, org_a):
    browser = _signed_in(client_a)

    answer = browser.post(reverse("statements:issue", args=[org_a.pk]))

    statement = Statement.objects.get(client=org_a)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("statements:detail", args=[statement.pk])
    assert statement.kind == StatementKind.ON_DEMAND
    assert statement.issued_by == client_a
    page = browser.get(answer["Location"])
    assert statement.reference in page.content.decode()
    assert "客服知识库问答模型" in page.content.decode()
    listed = browser.get(reverse("client_statements:list")).content.decode()
    assert f'data-statement="{statement.reference}"' in listed

    document = browser.get(reverse("statements:pdf", args=[statement.pk]))
    assert document["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(document.content)).pages)
    assert statement.reference in text
    assert "客服知识库问答模型" in text
    assert delivered.reference in text


def test_the_csv_has_a_line_per_order_and_workshop_in_the_readers_language(delivered, client_a, org_a):
    statement = services.statement_issue(client=org_a, actor=client_a)
    browser = _signed_in(client_a)

    with translation.override("zh-hans"):
        answer = browser.get(reverse("statements:csv", args=[statement.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    lines = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))

    assert len(lines) == 1 + delivered.stages.count()
    assert [line[1] for line in lines[1:]] == [delivered.reference] * delivered.stages.count()
    assert [Decimal(line[-1]) for line in lines[1:]] == [Decimal(cost) for cost in delivered.charged]
    assert lines[0][0] == "对账单"


def test_a_second_statement_on_demand_within_the_hour_is_refused_and_nothing_is_issued(delivered, client_a, org_a):
    browser = _signed_in(client_a)
    browser.post(reverse("statements:issue", args=[org_a.pk]))

    again = browser.post(reverse("statements:issue", args=[org_a.pk]), follow=True)

    assert Statement.objects.filter(client=org_a).count() == 1
    assert "a new one can be issued an hour after it" in again.content.decode()


def test_another_client_can_neither_read_nor_issue_a_statement(delivered, client_a, client_b, org_a):
    statement = services.statement_issue(client=org_a, actor=client_a)
    browser = _signed_in(client_b)

    for name in ("statements:detail", "statements:pdf", "statements:csv"):
        assert browser.get(reverse(name, args=[statement.pk])).status_code == 404
    assert browser.post(reverse("statements:issue", args=[org_a.pk])).status_code == 404
    assert Statement.objects.count() == 1


def test_staff_read_statements_on_the_client_page_and_operations_issue_them(delivered, ops_user, reviewer, org_a):
    operations = _signed_in(ops_user)
    answer = operations.post(reverse("statements:issue", args=[org_a.pk]))
    statement = Statement.objects.get(client=org_a)
    assert statement.issued_by == ops_user
    assert answer.status_code == 302

    security = _signed_in(reviewer)
    page = security.get(reverse("client", args=[org_a.pk])).content.decode()
    assert f'data-statement="{statement.reference}"' in page
    assert 'data-testid="issue-statement"' not in page
    assert security.get(reverse("statements:pdf", args=[statement.pk])).status_code == 200
    assert security.post(reverse("statements:issue", args=[org_a.pk])).status_code == 403


def test_the_order_pages_show_planned_against_used_per_workshop(delivered, ops_user, client_a):
    staff_page = _signed_in(ops_user).get(reverse("orders:detail", args=[delivered.pk])).content.decode()
    client_page = _signed_in(client_a).get(reverse("portal:order", args=[delivered.pk])).content.decode()

    for page in (staff_page, client_page):
        assert 'data-testid="workshop-costs"' in page
        for stage in delivered.stages.all():
            assert f'data-workshop-cost="{stage.workshop}"' in page
        assert "1,638.00" in page


def test_an_order_placed_without_a_quote_shows_no_plan(ops_user, org_a, client_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    Order.objects.filter(pk=order.pk).update(quoted_cost=None, quoted_compute_pflops_hours=None)

    rows = workshop_costs_of([Order.objects.get(pk=order.pk)])[order.pk]

    assert rows
    assert all(row.planned_cost is None and row.planned_compute is None for row in rows)


def test_a_new_client_page_says_there_are_no_statements_yet(org_a, client_a):
    page = _signed_in(client_a).get(reverse("client_statements:list")).content.decode()

    assert "No statements yet" in page


def test_a_client_without_orders_gets_no_monthly_statement(org_a, move_clock):
    _next_month(move_clock)

    assert services.statements_issue_monthly() == []
    assert client_user(organization=org_a) is not None
