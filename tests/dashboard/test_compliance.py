"""The compliance record of a sensitive order: where its data was processed, and its gate reviews."""

import re
from datetime import timedelta

import pytest

from dispatch import services as dispatch_services
from dispatch.models import ComputePool, Job, Preemption
from factory import clock, roles
from orders import services as order_services
from orders.models import OrderStatus, StepStatus
from security import services as security_services
from tests.factories import UserFactory, compute_pool, finish_current_stage, order_at

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


def _next_step_on_another_pool(order, ops_user):
    (first_pool,) = ComputePool.objects.filter(jobs__order=order)
    compute_pool(kind="data_processing", capacity=500, trusted=True, in_province=True)
    step = order.stages.get(position=1).steps.get(status=StepStatus.RUNNING)
    order_services.step_finish(step=step, actor=ops_user)
    dispatcher = UserFactory(username="compliance-dispatcher", roles=[roles.DISPATCH])
    dispatch_services.pool_change_state(pool=first_pool, action="offline", actor=dispatcher, reason="Maintenance.")
    dispatch_services.dispatch_tick(now=clock.now() + timedelta(hours=2))


def test_a_job_preempted_from_one_pool_lists_both_pools_it_ran_on(client, ops_user, reviewer):
    t0 = clock.now()
    low = order_at(
        OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive", priority="low", size="large"
    )
    step = low.stages.get(position=1).steps.get(status=StepStatus.READY)
    # Room for exactly one first step: the urgent order's identical step preempts it after waiting.
    compute_pool(kind="data_processing", capacity=step.demand_pflops)
    dispatch_services.dispatch_tick(now=t0)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, actor=ops_user, priority="urgent", size="large")
    dispatch_services.dispatch_tick(now=t0 + timedelta(minutes=1))
    dispatch_services.dispatch_tick(now=t0 + timedelta(hours=1))
    compute_pool(kind="data_processing", capacity=500)
    dispatch_services.dispatch_tick(now=t0 + timedelta(hours=1, minutes=1))
    assert Preemption.objects.filter(preempted__order=low).exists()
    client.force_login(reviewer)

    page = client.get(f"/orders/{low.pk}/compliance/").content.decode()

    assert "pool-1-data_processing" in page
    assert "pool-2-data_processing" in page
    assert page.count('data-compliant="yes"') == 2


def _all_passed(review, note=""):
    return {answer.position: {"passed": True, "note": note} for answer in review.answers.all()}


def _reject_then_review_again(order, ops_user, reviewer):
    """The data gate is refused with a finding, its first step redone, and a second passage opened."""
    (first,) = security_services.reviews_open_for_waiting_gates()
    step = first.stage.steps.order_by("position").first()
    security_services.review_reject(
        review=first,
        reviewer=reviewer,
        findings=[{"severity": "high", "text": "Names left in the free-text column."}],
        rework_steps=[step],
    )
    finish_current_stage(order, ops_user)
    (second,) = security_services.reviews_open_for_waiting_gates()
    return first, second


def test_the_record_lists_the_reviews_with_their_checklists_and_approvals(client, ops_user, reviewer):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, data_sensitivity="sensitive", product_type="dataset")
    (review,) = security_services.reviews_open_for_waiting_gates()
    security_services.review_approve(review=review, reviewer=reviewer, answers=_all_passed(review, note="ok"))
    client.force_login(ops_user)

    page = client.get(f"/orders/{order.pk}/compliance/").content.decode()

    assert "Personal information is removed or de-identified" in page
    assert "Passed" in page
    assert "security-user" in page
    # Sensitive data needs four eyes: one approval of two, so the review is still pending.
    assert "(1/2)" in page
    assert "Pending" in page


def test_the_record_shows_a_rejection_with_its_findings_and_the_next_passage(client, ops_user, reviewer):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, data_sensitivity="sensitive", product_type="dataset")
    _reject_then_review_again(order, ops_user, reviewer)
    client.force_login(reviewer)

    page = client.get(f"/orders/{order.pk}/compliance/").content.decode()

    assert "Rejected" in page
    assert "Names left in the free-text column." in page
    assert "passage 1" in page
    assert "passage 2" in page


def test_the_record_has_a_print_button_hidden_when_printed(client, ops_user, reviewer):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    client.force_login(reviewer)

    page = client.get(f"/orders/{order.pk}/compliance/").content.decode()

    assert re.search(r'<p class="no-print"><button type="button" class="button" data-print>Print</button>', page)


def test_only_security_and_operations_see_compliance_records(
    client, ops_user, reviewer, dispatcher, aftersales_user, client_a
):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    plain = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)

    assert client.get(f"/orders/{order.pk}/compliance/").status_code == 302  # to the login page
    for user in (dispatcher, aftersales_user, client_a):
        client.force_login(user)
        assert client.get(f"/orders/{order.pk}/compliance/").status_code == 403
    for user in (ops_user, reviewer):
        client.force_login(user)
        assert client.get(f"/orders/{order.pk}/compliance/").status_code == 200
        # A non-sensitive order has no compliance record.
        assert client.get(f"/orders/{plain.pk}/compliance/").status_code == 404
    assert client.get("/orders/999999/compliance/").status_code == 404


def test_the_staff_order_page_links_the_record_of_sensitive_orders_only(client, ops_user):
    sensitive = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    plain = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    client.force_login(ops_user)

    assert f'href="/orders/{sensitive.pk}/compliance/"' in client.get(f"/orders/{sensitive.pk}/").content.decode()
    assert "/compliance/" not in client.get(f"/orders/{plain.pk}/").content.decode()


@pytest.mark.parametrize("passages", [1, 2])
def test_the_record_takes_a_fixed_number_of_queries(client, ops_user, reviewer, django_assert_num_queries, passages):
    order = _sensitive_order_that_ran(ops_user)
    if passages == 2:
        # Twice the rows: the next step runs on a second trusted pool (the first one is taken offline),
        # and the gate is refused with a finding before its second passage.
        _next_step_on_another_pool(order, ops_user)
    finish_current_stage(order, ops_user)
    if passages == 2:
        _reject_then_review_again(order, ops_user, reviewer)
    else:
        security_services.reviews_open_for_waiting_gates()
    client.force_login(reviewer)

    # 1 session, 2 user, 3 roles, 4 order, 5 pools used by its jobs, 6 those pools with their sites,
    # 7 its reviews with their deciding reviewers, 8 their answers, 9 their findings, 10 their approvals.
    with django_assert_num_queries(10):
        response = client.get(f"/orders/{order.pk}/compliance/")
    page = response.content.decode()
    assert page.count('<article class="compliance-review">') == passages
    assert page.count('data-compliant="yes"') == passages
