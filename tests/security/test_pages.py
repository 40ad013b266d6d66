"""The security center's pages, used as reviewers use them: the queue, one review and its decision, history."""

from datetime import timedelta

import pytest
from django.urls import reverse

from factory import clock
from orders.models import EventKind, OrderStatus, StepStatus
from security import services
from security.models import Review, ReviewStatus
from tests.factories import UserFactory, finish_current_stage, order_at

pytestmark = pytest.mark.django_db

QUEUE = "/security/reviews/"
HISTORY = "/security/reviews/history/"


@pytest.fixture
def reviewer_two(db):
    return UserFactory(username="reviewer-two", roles=["security"])


def _gate(ops_user, **overrides):
    """An order at its first gate (the data workshop's), and the review that opened for it."""
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, **overrides)
    (review,) = services.reviews_open_for_waiting_gates()
    return order, review


def _all_passed(review):
    data = {f"passed_{answer.position}": "yes" for answer in review.answers.all()}
    data.update({f"note_{answer.position}": "" for answer in review.answers.all()})
    return data


def _approve(client, review, data=None, **kwargs):
    return client.post(
        reverse("security:approve", args=[review.pk]), _all_passed(review) if data is None else data, **kwargs
    )


def _reject(client, review, data, **kwargs):
    return client.post(reverse("security:reject", args=[review.pk]), data, **kwargs)


def _text(response) -> str:
    return response.content.decode()


def _unchanged(order, review, *, events):
    """Nothing moved: the review is pending without approvals, the order waits at its gate, no new event."""
    order.refresh_from_db()
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert not review.approvals.exists()
    assert not review.findings.exists()
    assert order.status == OrderStatus.AWAITING_REVIEW
    assert order.events.count() == events


# --- Who may see and decide --------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, ops_user):
    _order, review = _gate(ops_user)

    for path in (QUEUE, HISTORY, reverse("security:review", args=[review.pk])):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("persona", ["ops_user", "dispatcher", "aftersales_user", "client_a"])
def test_only_the_security_role_sees_the_review_pages(client, ops_user, request, persona):
    _order, review = _gate(ops_user)
    client.force_login(request.getfixturevalue(persona))

    for path in (QUEUE, HISTORY, reverse("security:review", args=[review.pk])):
        assert client.get(path).status_code == 403


def test_a_reviewer_sees_the_review_pages(client, ops_user, reviewer):
    _order, review = _gate(ops_user)
    client.force_login(reviewer)

    for path in (QUEUE, HISTORY, reverse("security:review", args=[review.pk])):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("persona", ["ops_user", "dispatcher", "client_a"])
def test_someone_without_the_security_role_cannot_decide_and_nothing_changes(client, ops_user, request, persona):
    order, review = _gate(ops_user)
    events = order.events.count()
    step = review.stage.steps.first()
    client.force_login(request.getfixturevalue(persona))

    approved = _approve(client, review)
    rejected = _reject(client, review, {"severity_1": "high", "finding_1": "x", "rework_steps": [str(step.pk)]})

    assert approved.status_code == 403
    assert rejected.status_code == 403
    _unchanged(order, review, events=events)


def test_an_unknown_review_is_not_found(client, reviewer):
    client.force_login(reviewer)

    assert client.get("/security/reviews/999999/").status_code == 404


# --- The queue ---------------------------------------------------------------------------------------


def test_a_review_opened_for_a_gate_appears_in_the_queue(client, ops_user, reviewer):
    order, _review = _gate(ops_user)
    client.force_login(reviewer)

    page = _text(client.get(QUEUE))

    assert order.reference in page
    assert order.client.name in page
    assert "Data workshop" in page
    assert "Pending" in page
    assert "0 of 1" in page


def test_the_queue_lists_the_oldest_gate_first_and_flags_sensitive_orders_in_words(
    client, ops_user, reviewer, monkeypatch
):
    now = clock.now()
    recent = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user)
    monkeypatch.setattr(clock, "now", lambda: now)
    services.reviews_open_for_waiting_gates()
    # Opened later in the database, but its gate has waited longer (the clock says an hour earlier).
    older = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, data_sensitivity="sensitive")
    monkeypatch.setattr(clock, "now", lambda: now - timedelta(hours=1))
    services.reviews_open_for_waiting_gates()
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(hours=2))
    client.force_login(reviewer)

    page = _text(client.get(QUEUE))

    assert page.index(older.reference) < page.index(recent.reference)
    assert page.count("Sensitive data</span>") == 1
    assert "badge--red security-sensitive" in page
    assert "0 of 2" in page  # the sensitive order needs two approvals
    assert "3 h" in page  # how long the oldest gate has waited


def test_the_queue_shows_pending_reviews_first_when_every_status_is_asked_for(client, ops_user, reviewer):
    decided, review = _gate(ops_user)
    services.review_approve(
        review=review, reviewer=reviewer, answers={a.position: {"passed": True} for a in review.answers.all()}
    )
    waiting, _review = _gate(ops_user)
    client.force_login(reviewer)

    pending_only = _text(client.get(QUEUE))
    every_status = _text(client.get(QUEUE, {"status": ""}))

    assert decided.reference not in pending_only
    assert every_status.index(waiting.reference) < every_status.index(decided.reference)


def test_the_queue_filters_by_workshop_sensitivity_and_order(client, ops_user, reviewer):
    plain, _first = _gate(ops_user)
    sensitive, _second = _gate(ops_user, data_sensitivity="sensitive")
    client.force_login(reviewer)

    model_gates = _text(client.get(QUEUE, {"workshop": "model"}))
    sensitive_only = _text(client.get(QUEUE, {"sensitive": "true"}))
    by_reference = _text(client.get(QUEUE, {"order": plain.reference}))

    assert plain.reference not in model_gates
    assert sensitive.reference not in model_gates
    assert sensitive.reference in sensitive_only
    assert plain.reference not in sensitive_only
    assert plain.reference in by_reference
    assert sensitive.reference not in by_reference


def test_an_empty_queue_says_what_would_appear_there(client, reviewer):
    client.force_login(reviewer)

    page = _text(client.get(QUEUE))

    assert "No review waits here" in page
    assert "when a workshop finishes all of an order" in page


@pytest.mark.parametrize("gates", [2, 4])
def test_the_queue_takes_a_fixed_number_of_queries(client, ops_user, reviewer, django_assert_num_queries, gates):
    for _ in range(gates):
        order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, data_sensitivity="sensitive")
    services.reviews_open_for_waiting_gates()
    client.force_login(reviewer)

    # 1 session, 2 user, 3 the user's roles, 4 count, 5 the page of reviews with orders, clients, reviewers and
    # approval counts. Doubling the reviews adds none.
    with django_assert_num_queries(5):
        response = client.get(QUEUE)
    assert response.status_code == 200


# --- One review ---------------------------------------------------------------------------------------


def test_the_review_page_shows_the_checklist_and_the_orders_context(client, ops_user, reviewer):
    order, review = _gate(
        ops_user, data_sensitivity="sensitive", requirements="Summarise discharge notes; never show patient names."
    )
    client.force_login(reviewer)

    page = _text(client.get(reverse("security:review", args=[review.pk])))

    assert order.reference in page
    assert order.client.name in page
    assert "never show patient names" in page  # reviewers may read the requirements
    assert "Sensitive data" in page
    assert "2 approvals by different reviewers" in page
    assert page.count('type="radio"') == 2 * review.answers.count()
    assert review.answers.get(position=1).item in page
    for step in review.stage.steps.all():
        assert f'value="{step.pk}"' in page  # each step of the workshop can be sent back
    assert "Workshop done, gate awaiting review" in page  # the order's timeline
    assert "Approve" in page
    assert "Reject" in page
    assert "first security review" in page


def test_approving_with_every_item_passed_releases_the_gate_into_the_next_workshop(client, ops_user, reviewer):
    order, review = _gate(ops_user, product_type="model")
    client.force_login(reviewer)

    response = _approve(client, review, follow=True)

    order.refresh_from_db()
    review.refresh_from_db()
    assert f"Gate released — {order.reference} enters the Model workshop." in _text(response)
    assert review.status == ReviewStatus.APPROVED
    assert review.reviewer == reviewer
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.current_workshop == "model"
    assert order.events.filter(kind=EventKind.GATE_RELEASED, actor=reviewer, workshop="data").exists()
    assert review.answers.filter(passed=True).count() == review.answers.count()


def test_approving_the_last_gate_makes_the_order_ready_for_delivery(client, ops_user, reviewer):
    order, review = _gate(ops_user, product_type="dataset")
    client.force_login(reviewer)

    response = _approve(client, review, follow=True)

    order.refresh_from_db()
    assert "is ready for delivery" in _text(response)
    assert order.status == OrderStatus.READY


def test_approving_with_an_unanswered_item_shows_the_error_next_to_it_and_changes_nothing(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()
    data = _all_passed(review)
    del data["passed_2"]
    data["note_1"] = "Checked the de-identification report."
    client.force_login(reviewer)

    response = _approve(client, review, data)

    page = _text(response)
    assert response.status_code == 400
    assert "Nothing was decided" in page
    assert 'href="#item-2">Item 2: Answer this item.' in page  # summarised at the top, linked to the item
    assert 'id="item-2" class="security-checklist__error"' in page  # and marked next to it
    assert "Checked the de-identification report." in page  # what was typed is kept
    _unchanged(order, review, events=events)


def test_approving_with_a_failed_item_is_refused_and_changes_nothing(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()
    data = _all_passed(review)
    data["passed_3"] = "no"
    client.force_login(reviewer)

    response = _approve(client, review, data)

    assert response.status_code == 400
    assert "This item did not pass: reject the review with findings instead." in _text(response)
    _unchanged(order, review, events=events)


def test_rejecting_without_findings_is_refused_and_changes_nothing(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()
    step = review.stage.steps.first()
    client.force_login(reviewer)

    response = _reject(client, review, {"severity_1": "", "finding_1": "  ", "rework_steps": [str(step.pk)]})

    assert response.status_code == 400
    assert "Record at least one finding." in _text(response)
    _unchanged(order, review, events=events)


def test_rejecting_without_rework_steps_is_refused_and_changes_nothing(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()
    client.force_login(reviewer)

    response = _reject(client, review, {"severity_1": "high", "finding_1": "Consent records missing"})

    page = _text(response)
    assert response.status_code == 400
    assert "Name the steps of this workshop to redo." in page
    assert "Consent records missing" in page  # the finding typed is kept for the next try
    _unchanged(order, review, events=events)


def test_a_finding_without_a_severity_is_refused_next_to_it(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()
    step = review.stage.steps.first()
    client.force_login(reviewer)

    response = _reject(client, review, {"finding_2": "Licence unclear", "rework_steps": [str(step.pk)]})

    assert response.status_code == 400
    assert "Choose a severity for this finding." in _text(response)
    _unchanged(order, review, events=events)


def test_rejecting_sends_the_steps_back_and_the_gate_reopens_for_a_second_passage(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    first, second = list(review.stage.steps.order_by("position"))[:2]
    client.force_login(reviewer)
    data = {
        **_all_passed(review),
        "passed_2": "no",
        "note_2": "No consent for source 2",
        "severity_1": "high",
        "finding_1": "Consent records missing for source 2",
        "severity_2": "low",
        "finding_2": "Dataset card lacks checksums",
        "rework_steps": [str(first.pk), str(second.pk)],
    }

    response = _reject(client, review, data, follow=True)

    order.refresh_from_db()
    review.refresh_from_db()
    first.refresh_from_db()
    assert f"Rejected — 2 steps of {order.reference} sent back to rework" in _text(response)
    assert review.status == ReviewStatus.REJECTED
    assert sorted(review.findings.values_list("severity", flat=True)) == ["high", "low"]
    assert review.answers.get(position=2).passed is False  # a full checklist is kept with the rejection
    assert order.status == OrderStatus.IN_PRODUCTION
    assert first.status != StepStatus.DONE
    assert first.rework_count == 1
    assert order.events.filter(kind=EventKind.REWORK, actor=reviewer).exists()

    finish_current_stage(order, ops_user)
    (again,) = services.reviews_open_for_waiting_gates()
    queue = _text(client.get(QUEUE))

    assert again.pk != review.pk
    assert again.gate_passage == 1
    assert "passage 2" in queue
    assert "Consent records missing for source 2" in _text(client.get(reverse("security:review", args=[again.pk])))


def test_deciding_an_already_decided_review_says_so_and_changes_nothing(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    step = review.stage.steps.first()
    client.force_login(reviewer)
    _approve(client, review)
    events = order.events.count()

    again = _approve(client, review, follow=True)
    rejected = _reject(
        client, review, {"severity_1": "high", "finding_1": "Too late", "rework_steps": [str(step.pk)]}, follow=True
    )

    review.refresh_from_db()
    assert "This review is already approved." in _text(again)
    assert "This review is already approved." in _text(rejected)
    assert review.status == ReviewStatus.APPROVED
    assert review.approvals.count() == 1
    assert not review.findings.exists()
    assert order.events.count() == events
    assert 'data-testid="decision-form"' not in _text(client.get(reverse("security:review", args=[review.pk])))


def test_a_reviewer_who_finished_steps_on_the_order_is_barred_from_reviewing_it(client, ops_user):
    both = UserFactory(username="ops-and-security", roles=["security", "operations"])
    order, review = _gate(ops_user, product_type="model")
    services.review_approve(
        review=review,
        reviewer=UserFactory(username="independent", roles=["security"]),
        answers={a.position: {"passed": True} for a in review.answers.all()},
    )
    finish_current_stage(order, both)  # `both` finishes the model workshop's steps as operations staff
    (review,) = services.reviews_open_for_waiting_gates()
    events = order.events.count()
    client.force_login(both)

    page = _text(client.get(reverse("security:review", args=[review.pk])))
    refused = _approve(client, review, follow=True)

    assert "you acted on this order as operations staff" in page
    assert 'data-testid="decision-form"' not in page
    assert "you cannot review it" in _text(refused)
    _unchanged(order, review, events=events)


def test_a_sensitive_order_needs_two_different_reviewers(client, ops_user, reviewer, reviewer_two):
    order, review = _gate(ops_user, data_sensitivity="sensitive")
    client.force_login(reviewer)

    first = _approve(client, review, follow=True)

    order.refresh_from_db()
    review.refresh_from_db()
    assert f"Approval 1 of 2 recorded for {order.reference} — a second reviewer must approve." in _text(first)
    assert order.status == OrderStatus.AWAITING_REVIEW
    assert review.status == ReviewStatus.PENDING
    assert order.events.filter(kind=EventKind.REVIEW_DECISION, actor=reviewer).exists()

    page = _text(client.get(reverse("security:review", args=[review.pk])))
    same_again = _approve(client, review, follow=True)

    assert "You already approved this review" in page
    assert "a second reviewer must approve it too" in _text(same_again)
    assert review.approvals.count() == 1

    client.force_login(reviewer_two)
    second = _approve(client, review, follow=True)

    order.refresh_from_db()
    review.refresh_from_db()
    assert "Gate released" in _text(second)
    assert review.status == ReviewStatus.APPROVED
    assert sorted(review.approvals.values_list("reviewer__username", flat=True)) == ["reviewer-two", "security-user"]
    assert order.current_workshop == "model"


def _released_note(client, order) -> str:
    page = _text(client.get(reverse("orders:detail", args=[order.pk])))
    row = page[page.index('data-kind="gate_released"') :]
    return row[row.index('class="prewrap">') + len('class="prewrap">') : row.index("</td>", row.index("prewrap"))]


def test_the_released_gate_counts_one_approval_in_the_singular(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    client.force_login(reviewer)
    _approve(client, review)
    client.force_login(ops_user)

    assert _released_note(client, order) == "Security review approved (1 approval)."


def test_the_released_gate_note_reads_in_the_readers_language(client, ops_user, reviewer, reviewer_two):
    order, review = _gate(ops_user, data_sensitivity="sensitive")
    for person in (reviewer, reviewer_two):
        client.force_login(person)
        client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
        _approve(client, review)
    client.force_login(ops_user)

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = _released_note(client, order)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    chinese = _released_note(client, order)

    assert english == "Security review approved (2 approvals)."
    assert chinese.startswith("安全审查已批准")
    assert "2 个批准" in chinese


def test_a_note_kept_before_plurals_reads_in_the_singular_and_in_chinese(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    client.force_login(reviewer)
    _approve(client, review)
    # As the event was kept before notes had plurals and were stored in English.
    order.events.filter(kind=EventKind.GATE_RELEASED).update(note="Security review approved (1 approvals).")
    client.force_login(ops_user)

    english = _released_note(client, order)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    assert english == "Security review approved (1 approval)."
    chinese = _released_note(client, order)
    assert chinese.startswith("安全审查已批准")
    assert "1 个批准" in chinese


# --- History --------------------------------------------------------------------------------------------


def test_the_history_lists_decided_reviews_newest_first(client, ops_user, reviewer, monkeypatch):
    now = clock.now()
    approved, first = _gate(ops_user)
    rejected, second = _gate(ops_user)
    pending, _third = _gate(ops_user)
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(hours=1))
    services.review_approve(
        review=first, reviewer=reviewer, answers={a.position: {"passed": True} for a in first.answers.all()}
    )
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(hours=2))
    services.review_reject(
        review=second,
        reviewer=reviewer,
        findings=[{"severity": "medium", "text": "Source licence missing"}],
        rework_steps=[second.stage.steps.first()],
    )
    client.force_login(reviewer)

    page = _text(client.get(HISTORY))
    only_rejected = _text(client.get(HISTORY, {"status": "rejected"}))

    assert page.index(rejected.reference) < page.index(approved.reference)
    assert pending.reference not in page
    assert "security-user" in page
    assert approved.reference not in only_rejected
    assert rejected.reference in only_rejected


def test_an_empty_history_says_what_would_appear_there(client, reviewer):
    client.force_login(reviewer)

    assert "No decided reviews" in _text(client.get(HISTORY))


@pytest.mark.parametrize(("language", "any_status"), [("en", "Any status"), ("zh-hans", "任意状态")])
def test_the_history_status_filter_offers_any_status_once(client, reviewer, language, any_status):
    client.force_login(reviewer)
    client.post(reverse("set_language"), {"language": language, "next": "/"})

    page = _text(client.get(HISTORY))

    select = page[page.index('name="status"') : page.index("</select>", page.index('name="status"'))]
    assert select.count(any_status) == 1
    assert select.count("<option") == 1 + 2  # any status, then approved and rejected


# --- Admin ------------------------------------------------------------------------------------------------


def test_admins_edit_checklists_but_cannot_add_change_or_delete_reviews(client, admin_user, ops_user):
    _order, review = _gate(ops_user)
    client.force_login(admin_user)

    checklist = client.get("/admin/security/checklistitem/")
    reviews = client.get("/admin/security/review/?status__exact=pending")
    one = client.get(f"/admin/security/review/{review.pk}/change/")

    assert checklist.status_code == 200
    assert "de-identified" in _text(checklist)
    assert 'name="form-0-text"' in _text(checklist)  # edited in the list
    assert reviews.status_code == 200
    assert review.order.reference in _text(reviews)
    assert client.get("/admin/security/review/add/").status_code == 403
    assert client.get(f"/admin/security/review/{review.pk}/delete/").status_code == 403
    assert one.status_code == 200
    assert 'name="_save"' not in _text(one)
    assert Review.objects.filter(pk=review.pk).exists()
