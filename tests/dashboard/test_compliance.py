"""The compliance record of a sensitive order: where its data was processed, and its gate reviews."""

from datetime import timedelta

import pytest

from dispatch import services as dispatch_services
from dispatch.models import Job
from factory import clock
from orders.models import OrderStatus
from security import services as security_services
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


def _sensitive_order_that_ran(ops_user):
    compute_pool(kind="data_processing", capacity=500, trusted=True, in_province=True)
    compute_pool(kind="data_processing", capacity=500, trusted=False, in_province=False)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive", product_type="dataset")
    now = clock.now()
    dispatch_services.dispatch_tick(now=now)
    dispatch_services.dispatch_tick(now=now + timedelta(hours=1))
    return order


def test_a_sensitive_order_that_stayed_on_trusted_pools_shows_no_violation(client, ops_user, reviewer):
    order = _sensitive_order_that_ran(ops_user)
    client.force_login(reviewer)

    page = client.get(f"/orders/{order.pk}/compliance/").content.decode()

    assert "Every pool used is trusted and in the province." in page
    assert 'data-compliant="no"' not in page
    assert 'data-compliant="yes"' in page


def test_a_job_that_ran_outside_the_province_is_flagged_in_red(client, ops_user, reviewer):
    order = _sensitive_order_that_ran(ops_user)
    untrusted = compute_pool(kind="data_processing", capacity=10, trusted=False, in_province=False)
    # The dispatcher never does this; the record must still show it if it ever happened (e.g. a bad import).
    Job.objects.filter(order=order).update(last_pool=untrusted)
    client.force_login(reviewer)

    page = client.get(f"/orders/{order.pk}/compliance/").content.decode()

    assert "Residency violation" in page
    assert 'data-compliant="no"' in page
    assert "badge--red" in page


def test_the_record_lists_the_reviews_with_their_checklists(client, ops_user, reviewer):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, data_sensitivity="sensitive", product_type="dataset")
    (review,) = security_services.reviews_open_for_waiting_gates()
    security_services.review_approve(
        review=review,
        reviewer=reviewer,
        answers={a.position: {"passed": True, "note": "ok"} for a in review.answers.all()},
    )
    client.force_login(ops_user)

    page = client.get(f"/orders/{order.pk}/compliance/").content.decode()

    assert "Personal information is removed or de-identified" in page
    assert "security-user" in page
    assert "(1/2)" in page


def test_only_security_and_operations_see_compliance_records(client, ops_user, dispatcher, client_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    plain = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)

    for user in (dispatcher, client_a):
        client.force_login(user)
        assert client.get(f"/orders/{order.pk}/compliance/").status_code == 403
    client.force_login(ops_user)
    assert client.get(f"/orders/{order.pk}/compliance/").status_code == 200
    assert client.get(f"/orders/{plain.pk}/compliance/").status_code == 404


@pytest.mark.parametrize("runs", [1, 2])
def test_the_record_takes_a_fixed_number_of_queries(client, ops_user, reviewer, django_assert_num_queries, runs):
    order = _sensitive_order_that_ran(ops_user)
    for _ in range(runs):
        compute_pool(kind="data_processing", capacity=5, trusted=True)
    client.force_login(reviewer)

    # 1 session, 2 user, 3 roles, 4 order, 5 pools used by its jobs, 6 the pools with sites, 7 its reviews
    # (none yet: their answers, findings and approvals come in three more queries once there are some).
    with django_assert_num_queries(7):
        client.get(f"/orders/{order.pk}/compliance/")
