"""The staff order pages: the order list, one order's page with its actions, and placing an order for a client."""

import re
from datetime import timedelta

import pytest
from django.utils.formats import date_format

from factory import clock
from orders.models import EventKind, Order, OrderStatus, StageStatus, StepStatus
from security import services as security_services
from tests.factories import ClientOrganizationFactory, order_at, order_fields, place_order

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def _row_references(response) -> set[str]:
    return set(re.findall(r'<tr data-reference="([^"]+)"', _text(response)))


def _actions(response, kind: str) -> list[str]:
    """The action URLs of the forms whose button carries data-action="kind", in page order."""
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', _text(response), re.S)
    return [action for action, body in forms if f'data-action="{kind}"' in body]


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"]) if response.context else ""


@pytest.fixture
def later(monkeypatch):
    """Move the factory clock forward by some days (every module reads it through clock.now)."""
    real_now = clock.now

    def move(days):
        moment = real_now() + timedelta(days=days)
        monkeypatch.setattr(clock, "now", lambda: moment)

    return move


# --- Who may open the pages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/orders/"),
        ("get", "/orders/new/"),
        ("get", "/orders/{pk}/"),
        ("post", "/orders/{pk}/accept/"),
        ("post", "/orders/{pk}/reject/"),
        ("post", "/orders/{pk}/deliver/"),
    ],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client, org_a, method, path):
    order = place_order(client=org_a)

    response = getattr(client, method)(path.format(pk=order.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/orders/"),
        ("get", "/orders/new/"),
        ("post", "/orders/new/"),
        ("get", "/orders/{pk}/"),
        ("post", "/orders/{pk}/accept/"),
        ("post", "/orders/{pk}/reject/"),
        ("post", "/orders/{pk}/cancel/"),
        ("post", "/orders/{pk}/requirement-changes/"),
        ("post", "/orders/{pk}/tracking-link/revoke/"),
    ],
)
def test_client_users_are_refused_the_staff_pages_even_for_their_own_orders(client, org_a, client_a, method, path):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(client_a)

    response = getattr(client, method)(path.format(pk=order.pk), {"reject-reason": "x", "cancel-reason": "x"})

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert order.tracking_token


def test_every_staff_role_can_read_the_list_and_the_order_page(client, org_a, dispatcher, reviewer, aftersales_user):
    order = place_order(client=org_a)
    for user in (dispatcher, reviewer, aftersales_user):
        client.force_login(user)
        assert client.get("/orders/").status_code == 200
        assert order.reference in _text(client.get(f"/orders/{order.pk}/"))


# --- The list -----------------------------------------------------------------------------------------------


def test_list_shows_each_order_with_client_status_priority_and_workshop_bar(client, ops_user, org_a):
    order = order_at(
        OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=ops_user, priority="urgent", title="Triage bot"
    )
    client.force_login(ops_user)

    response = client.get("/orders/")

    page = _text(response)
    assert f'href="/orders/{order.pk}/"' in page
    assert "Triage bot" in page
    assert "Organization A" in page
    assert 'data-status="in_production"' in page
    assert "In production" in page
    assert 'data-priority="urgent"' in page
    assert "Urgent" in page
    assert 'class="workshops"' in page
    assert "Data workshop 0%" in page


def test_status_and_product_type_filters_narrow_the_rows(client, ops_user, org_a):
    submitted_model = place_order(client=org_a, product_type="model")
    submitted_dataset = place_order(client=org_a, product_type="dataset")
    accepted_model = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, product_type="model")
    client.force_login(ops_user)

    by_status = client.get("/orders/", {"status": "submitted"})
    by_both = client.get("/orders/", {"status": "submitted", "product_type": "model"})

    assert _row_references(by_status) == {submitted_model.reference, submitted_dataset.reference}
    assert _row_references(by_both) == {submitted_model.reference}
    assert accepted_model.reference not in _text(by_both)


def test_search_finds_orders_by_reference_and_by_client_name(client, ops_user):
    hospital = ClientOrganizationFactory(name="Ruijin Hospital")
    bureau = ClientOrganizationFactory(name="Tax Bureau")
    hospital_order = place_order(client=hospital)
    bureau_order = place_order(client=bureau)
    client.force_login(ops_user)

    by_reference = client.get("/orders/", {"search": bureau_order.reference})
    by_client = client.get("/orders/", {"search": "ruijin"})

    assert _row_references(by_reference) == {bureau_order.reference}
    assert _row_references(by_client) == {hospital_order.reference}


def test_overdue_filter_shows_only_late_orders_with_a_red_overdue_badge(client, ops_user, org_a, later):
    late = place_order(client=org_a)
    later(days=400)
    on_time = place_order(client=org_a)
    client.force_login(ops_user)

    response = client.get("/orders/", {"overdue": "true"})

    assert _row_references(response) == {late.reference}
    assert 'data-testid="overdue"' in _text(response)
    assert on_time.reference in _row_references(client.get("/orders/"))


def test_list_paginates_25_orders_a_page_with_the_total_and_keeps_the_filters(client, ops_user, org_a):
    for _ in range(27):
        place_order(client=org_a)
    place_order(client=org_a, product_type="dataset")
    client.force_login(ops_user)

    first = client.get("/orders/", {"product_type": "model"})
    second = client.get("/orders/", {"product_type": "model", "page": 2})

    assert "27 orders" in _text(first)
    assert len(_row_references(first)) == 25
    assert "?product_type=model&amp;page=2" in _text(first)
    assert len(_row_references(second)) == 2
    assert "Page 2 of 2" in _text(second)


def test_empty_list_says_how_orders_appear_and_offers_a_new_order(client, ops_user):
    client.force_login(ops_user)

    page = _text(client.get("/orders/"))

    assert "No orders yet" in page
    assert 'href="/orders/new/"' in page


def test_filters_that_match_nothing_offer_to_clear_them(client, ops_user, org_a):
    place_order(client=org_a)
    client.force_login(ops_user)

    page = _text(client.get("/orders/", {"status": "delivered"}))

    assert "No orders match these filters" in page
    assert "Clear filters" in page


def test_new_order_button_is_for_operations_and_after_sales_only(client, ops_user, aftersales_user, dispatcher):
    for user, sees in ((ops_user, True), (aftersales_user, True), (dispatcher, False)):
        client.force_login(user)
        assert ("New order" in _text(client.get("/orders/"))) is sees


def _order_mix(org, staff):
    place_order(client=org)
    order_at(OrderStatus.IN_PRODUCTION, staff=staff, client=org, product_type="application")
    order_at(OrderStatus.AWAITING_REVIEW, staff=staff, client=ClientOrganizationFactory())


def test_list_runs_a_constant_number_of_queries(client, ops_user, org_a, django_assert_num_queries):
    _order_mix(org_a, ops_user)
    client.force_login(ops_user)

    # 1 session, 2 user, 3 the user's role groups, 4 count of the filtered orders, 5 the page of orders
    # with their clients, 6 the stages of those orders (workshop bars), 7 the organizations of the client
    # filter's select.
    with django_assert_num_queries(7):
        response = client.get("/orders/")

    assert len(_row_references(response)) == 3


def test_list_query_count_does_not_grow_with_twice_the_orders(client, ops_user, org_a, django_assert_num_queries):
    _order_mix(org_a, ops_user)
    _order_mix(org_a, ops_user)
    client.force_login(ops_user)

    with django_assert_num_queries(7):
        response = client.get("/orders/")

    assert len(_row_references(response)) == 6


# --- The order page -----------------------------------------------------------------------------------------


def test_order_page_shows_header_stages_steps_and_timeline(client, ops_user, org_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, data_sensitivity="sensitive")
    first_step = order.stages.get(position=1).steps.get(position=1)
    client.force_login(ops_user)

    page = _text(client.get(f"/orders/{order.pk}/"))

    assert order.reference in page
    assert "Organization A" in page
    assert 'data-testid="sensitive"' in page
    assert date_format(order.promised_delivery, "DATE_FORMAT") in page
    assert 'data-workshop="data"' in page
    assert 'data-workshop="model"' in page
    assert first_step.name in page
    assert first_step.get_pool_kind_display() in page
    assert 'data-kind="submitted"' in page
    assert 'data-kind="accepted"' in page
    assert "Production started" in page
    assert "Summarise discharge notes for ward doctors." in page


def test_order_page_shows_step_names_in_chinese_when_the_language_is_chinese(client, ops_user, org_a):
    order = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a)
    step = order.stages.get(position=1).steps.get(position=1)
    client.force_login(ops_user)

    page = _text(client.get(f"/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"))

    assert step.name_zh in page


def test_internal_events_are_marked_internal_on_the_timeline(client, ops_user, org_a):
    order = place_order(client=org_a)
    client.force_login(ops_user)

    client.post(f"/dispatch/orders/{order.pk}/priority/", {"priority": "high", "reason": "Board request"})
    page = _text(client.get(f"/orders/{order.pk}/"))

    assert re.search(r'data-kind="priority_changed" class="staff-timeline__internal"', page)
    assert "Board request" in page


def test_accept_button_shows_only_on_a_submitted_order_for_operations(client, ops_user, dispatcher, org_a):
    submitted = place_order(client=org_a)
    accepted = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a)

    client.force_login(ops_user)
    assert _actions(client.get(f"/orders/{submitted.pk}/"), "accept") == [f"/orders/{submitted.pk}/accept/"]
    assert _actions(client.get(f"/orders/{accepted.pk}/"), "accept") == []
    client.force_login(dispatcher)
    assert _actions(client.get(f"/orders/{submitted.pk}/"), "accept") == []


def test_dispatcher_cannot_accept_by_posting_the_form(client, dispatcher, org_a):
    order = place_order(client=org_a)
    client.force_login(dispatcher)

    response = client.post(f"/orders/{order.pk}/accept/")

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_dispatcher_sees_only_the_priority_link_on_an_order_and_cannot_act_on_it_here(
    client, dispatcher, ops_user, org_a
):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a)
    client.force_login(dispatcher)

    response = client.get(f"/orders/{order.pk}/")

    assert response.status_code == 200
    page = _text(response)
    assert order.reference in page
    assert re.findall(r'data-action="([^"]+)"', page) == ["priority"]
    assert _actions(response, "priority") == []  # a link to the priority page, not a form of this page
    for path in (f"/orders/{order.pk}/cancel/", f"/orders/{order.pk}/tracking-link/revoke/"):
        assert client.post(path, {"cancel-reason": "x"}).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_REVIEW


def _priority_link(response) -> str | None:
    found = re.search(r'<a class="button" href="([^"]+)" data-action="priority">', _text(response))
    return found.group(1).replace("&amp;", "&") if found else None


def test_delivering_a_submitted_order_is_refused_with_a_message_and_changes_nothing(client, ops_user, org_a):
    order = place_order(client=org_a)
    client.force_login(ops_user)

    response = client.post(f"/orders/{order.pk}/deliver/", follow=True)

    assert response.status_code == 200
    assert "Cannot deliver" in _messages(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert not order.events.filter(kind=EventKind.DELIVERED).exists()


def test_reject_without_a_reason_shows_a_form_error_and_changes_nothing(client, ops_user, org_a):
    order = place_order(client=org_a)
    client.force_login(ops_user)

    response = client.post(f"/orders/{order.pk}/reject/", {"reject-reason": "  "})

    assert response.status_code == 400
    page = _text(response)
    assert "This field is required." in page
    assert "Reject: nothing was changed" in page
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_reject_with_a_reason_rejects_the_order_and_the_reason_is_on_the_timeline(client, ops_user, org_a):
    order = place_order(client=org_a)
    client.force_login(ops_user)

    response = client.post(f"/orders/{order.pk}/reject/", {"reject-reason": "No labelled data."}, follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert "is rejected" in _messages(response)
    assert "No labelled data." in _text(response)


def test_cancel_needs_a_reason_and_asks_for_confirmation(client, ops_user, org_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    client.force_login(ops_user)

    page = _text(client.get(f"/orders/{order.pk}/"))
    refused = client.post(f"/orders/{order.pk}/cancel/", {"cancel-reason": ""})

    assert re.search(r'data-action="cancel" data-confirm="[^"]+"', page)
    assert refused.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PRODUCTION
    client.post(f"/orders/{order.pk}/cancel/", {"cancel-reason": "Client withdrew."})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_a_gate_awaiting_review_is_left_to_the_security_center(client, ops_user, org_a):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a)
    stage = order.stages.get(status=StageStatus.AWAITING_REVIEW)
    client.force_login(ops_user)

    page = _text(client.get(f"/orders/{order.pk}/"))

    assert "Only the security center releases a gate" in page
    assert f"/security/reviews/?order={order.reference}" in page
    assert 'data-action="release-gate"' not in page
    assert client.post(f"/orders/{order.pk}/stages/{stage.pk}/release-gate/").status_code == 404
    stage.refresh_from_db()
    assert stage.status == StageStatus.AWAITING_REVIEW


def test_recording_a_requirement_change_shows_it_and_can_redo_finished_steps(client, ops_user, org_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    first = order.stages.get(position=1).steps.get(position=1)
    client.force_login(ops_user)
    client.post(f"/orders/{order.pk}/steps/{first.pk}/finish/")

    response = client.post(
        f"/orders/{order.pk}/requirement-changes/",
        {"change-text": "Add English summaries too.", "change-rework_steps": [first.pk]},
        follow=True,
    )

    assert "The requirement change is recorded." in _messages(response)
    page = _text(response)
    assert "Add English summaries too." in page
    first.refresh_from_db()
    assert first.rework_count == 1


def test_finishing_a_step_that_is_not_ready_is_refused_with_a_message(client, ops_user, org_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    waiting = order.stages.get(position=1).steps.get(position=3)
    client.force_login(ops_user)

    response = client.post(f"/orders/{order.pk}/steps/{waiting.pk}/finish/", follow=True)

    assert "only the ready or running step" in _messages(response)
    waiting.refresh_from_db()
    assert waiting.status == StepStatus.PENDING


def test_a_step_of_another_order_is_not_found(client, ops_user, org_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    other = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    step = other.stages.get(position=1).steps.get(position=1)
    client.force_login(ops_user)

    assert client.post(f"/orders/{order.pk}/steps/{step.pk}/finish/").status_code == 404
    step.refresh_from_db()
    assert step.status == StepStatus.READY


def test_staff_can_revoke_and_renew_the_tracking_link(client, ops_user, org_a):
    order = place_order(client=org_a)
    client.force_login(ops_user)

    client.post(f"/orders/{order.pk}/tracking-link/revoke/")
    order.refresh_from_db()
    assert order.tracking_token is None
    assert "The tracking link is revoked" in _text(client.get(f"/orders/{order.pk}/"))

    client.post(f"/orders/{order.pk}/tracking-link/renew/")
    order.refresh_from_db()
    assert order.tracking_token
    assert f"/track/{order.tracking_token}/" in _text(client.get(f"/orders/{order.pk}/"))


def test_order_page_links_the_parent_and_follow_up_orders(client, ops_user, org_a):
    from orders.services import order_submit

    parent = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a)
    follow_up = order_submit(client=org_a, actor=ops_user, parent_order=parent, **order_fields(title="Retrain"))
    client.force_login(ops_user)

    assert f'href="/orders/{follow_up.pk}/"' in _text(client.get(f"/orders/{parent.pk}/"))
    assert f'href="/orders/{parent.pk}/"' in _text(client.get(f"/orders/{follow_up.pk}/"))


def test_deliverables_show_version_size_short_checksum_and_lineage(client, ops_user, org_a):
    order = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, product_type="application")
    application = order.artifacts.get(kind="application")
    client.force_login(ops_user)

    page = _text(client.get(f"/orders/{order.pk}/"))

    assert application.name in page
    assert application.version in page
    assert application.checksum[:12] + "…" in page
    assert re.search(r"\d+(\.\d)?\xa0(MB|GB|KB)", page)
    assert re.search(r"<li>Agent 1\.0\.0</li><li>Model 1\.0\.0</li><li>Dataset 1\.0\.0</li>", page)


def test_unknown_order_is_not_found(client, ops_user):
    client.force_login(ops_user)

    assert client.get("/orders/999999/").status_code == 404


# --- Placing an order ---------------------------------------------------------------------------------------


def test_placing_an_order_for_a_client_redirects_to_it_with_the_promised_date(client, ops_user, org_a):
    client.force_login(ops_user)
    fields = order_fields(title="Claims triage", requested_delivery=(clock.now().date() + timedelta(days=90)))

    response = client.post("/orders/new/", {**fields, "client": org_a.pk}, follow=True)

    order = Order.objects.get(title="Claims triage")
    assert order.client == org_a
    assert order.placed_by == ops_user
    assert response.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert date_format(order.promised_delivery, "DATE_FORMAT") in _messages(response)


def test_the_staff_order_form_asks_for_the_sector_instead_of_offering_government(client, ops_user, org_a):
    client.force_login(ops_user)

    page = _text(client.get("/orders/new/"))
    response = client.post("/orders/new/", {**order_fields(title="Claims triage", sector=""), "client": org_a.pk})

    assert not re.search(r'<option value="government"[^>]*selected', page)
    assert response.status_code == 400
    assert "sector" in response.context["form"].errors
    assert not Order.objects.filter(title="Claims triage").exists()


def test_order_form_shows_errors_next_to_fields_and_at_the_top_and_creates_nothing(client, ops_user, org_a):
    client.force_login(ops_user)
    fields = order_fields(title="", requested_delivery=clock.now().date() - timedelta(days=1))

    response = client.post("/orders/new/", {**fields, "client": org_a.pk})

    assert response.status_code == 400
    page = _text(response)
    assert "Please correct the following:" in page
    assert 'class="field field--invalid"' in page
    assert Order.objects.count() == 0


def test_dispatch_staff_cannot_place_orders(client, dispatcher, org_a):
    client.force_login(dispatcher)

    assert client.get("/orders/new/").status_code == 403
    assert client.post("/orders/new/", {**order_fields(), "client": org_a.pk}).status_code == 403
    assert Order.objects.count() == 0


# --- The whole journey, by hand, through the pages ------------------------------------------------------------


def test_an_order_goes_from_placed_to_delivered_through_the_pages(client, ops_user, reviewer, org_a):
    client.force_login(ops_user)
    placed = client.post(
        "/orders/new/", {**order_fields(title="Ward assistant", product_type="agent"), "client": org_a.pk}
    )
    detail = placed["Location"]
    order = Order.objects.get(title="Ward assistant")

    (accept,) = _actions(client.get(detail), "accept")
    client.post(accept)
    (start,) = _actions(client.get(detail), "start-production")
    client.post(start)
    for _round in range(200):
        page = client.get(detail)
        if finish := _actions(page, "finish-step"):
            assert len(finish) == 1
            client.post(finish[0])
        elif order.stages.filter(status=StageStatus.AWAITING_REVIEW).exists():
            # The gate is the security center's: a reviewer approves it, then operations carry on.
            (review,) = security_services.reviews_open_for_waiting_gates()
            security_services.review_approve(
                review=review,
                reviewer=reviewer,
                answers={answer.position: {"passed": True, "note": ""} for answer in review.answers.all()},
            )
        else:
            break
    (deliver,) = _actions(client.get(detail), "deliver")
    delivered = client.post(deliver, follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert "is delivered" in _messages(delivered)
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds[:3] == [EventKind.SUBMITTED, EventKind.ACCEPTED, EventKind.PRODUCTION_STARTED]
    assert kinds[-2:] == [EventKind.READY, EventKind.DELIVERED]
    assert kinds.count(EventKind.GATE_RELEASED) == 3
    assert kinds.count(EventKind.STEP_FINISHED) == sum(stage.steps_total for stage in order.stages.all())
    timeline = _text(delivered).split('data-testid="timeline"')[1].split("</section>")[0]
    # Every event in order, the folded runs of finished steps included.
    assert re.findall(r'<(?:tr|li) data-kind="([^"]+)"', timeline) == kinds


@pytest.mark.parametrize("user_fixture", ["ops_user", "dispatcher"])
def test_the_order_page_links_to_the_one_priority_page_and_comes_back(client, request, ops_user, org_a, user_fixture):
    order = place_order(client=org_a)
    client.force_login(request.getfixturevalue(user_fixture))

    link = _priority_link(client.get(f"/orders/{order.pk}/"))
    assert link == f"/dispatch/orders/{order.pk}/priority/?next=%2Forders%2F{order.pk}%2F"
    form = _text(client.get(link))
    assert f'name="next" value="/orders/{order.pk}/"' in form
    done = client.post(
        f"/dispatch/orders/{order.pk}/priority/",
        {"priority": "high", "reason": "Board request", "next": f"/orders/{order.pk}/"},
        follow=True,
    )

    assert done.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert f"{order.reference} now has high priority" in _messages(done)
    order.refresh_from_db()
    assert order.priority == "high"


def test_no_priority_link_for_other_roles_or_for_a_delivered_order(client, ops_user, reviewer, aftersales_user, org_a):
    open_order = place_order(client=org_a)
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a)

    for user in (reviewer, aftersales_user):
        client.force_login(user)
        assert _priority_link(client.get(f"/orders/{open_order.pk}/")) is None
    client.force_login(ops_user)
    assert _priority_link(client.get(f"/orders/{delivered.pk}/")) is None


def test_the_order_pages_own_priority_form_is_gone(client, ops_user, org_a):
    order = place_order(client=org_a)
    client.force_login(ops_user)

    page = _text(client.get(f"/orders/{order.pk}/"))
    answer = client.post(f"/orders/{order.pk}/priority/", {"priority-priority": "high", "priority-reason": "x"})

    assert "priority-priority" not in page
    assert answer.status_code == 404
    order.refresh_from_db()
    assert order.priority == "normal"


def test_a_requirement_change_on_a_submitted_order_offers_no_steps_to_redo(client, ops_user, org_a):
    order = place_order(client=org_a)
    client.force_login(ops_user)

    assert "change-rework_steps" not in _text(client.get(f"/orders/{order.pk}/"))
    client.post(f"/orders/{order.pk}/requirement-changes/", {"change-text": "Cover paediatrics as well."})

    assert order.requirement_changes.get().text == "Cover paediatrics as well."
