"""History is never deleted: orders, their events, reviews and tickets refuse DELETE in the database itself."""

import pytest
from django.db import DatabaseError, transaction

from aftersales.models import Ticket, TicketEvent, TicketMessage
from orders.models import Order, OrderEvent
from security.models import Review
from tests.factories import open_ticket, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(ops_user, org_a, client_a):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    open_ticket(order=order, actor=client_a)
    return order


@pytest.mark.parametrize("model", [Order, OrderEvent, Ticket, TicketMessage, TicketEvent])
def test_rows_with_history_refuse_to_be_deleted(history, model):
    before = model.objects.count()

    # Refused by Django (protected foreign keys) or, failing that, by the database trigger.
    with pytest.raises(DatabaseError, match=r"never deleted|protected foreign keys"), transaction.atomic():
        model.objects.all().delete()

    assert model.objects.count() == before > 0


def test_reviews_refuse_to_be_deleted_too(ops_user, org_a, client_a):
    from security import services

    order_at("awaiting_review", staff=ops_user, client=org_a, actor=client_a)
    services.reviews_open_for_waiting_gates()

    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic():
        Review.objects.all().delete()

    assert Review.objects.count() == 1
