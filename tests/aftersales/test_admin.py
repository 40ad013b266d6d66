"""The Django admin for after-sales: editable SLA policies, and tickets whose workflow only the services change."""

from decimal import Decimal

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import SlaPolicy, Ticket, TicketStatus
from tests.factories import open_ticket

pytestmark = pytest.mark.django_db

INTERNAL_NOTE = "Check the RAG index build date."


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def ticket(delivered_a, client_a, aftersales_user):
    ticket = open_ticket(order=delivered_a, actor=client_a, severity="critical", subject="Agent quotes old rules")
    services.ticket_post_message(ticket=ticket, actor=aftersales_user, body=INTERNAL_NOTE, internal=True)
    services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="in_progress")
    return ticket


# --- SLA policies -------------------------------------------------------------------------------------


def test_sla_policies_are_listed_per_severity(admin):
    page = admin.get(reverse("admin:aftersales_slapolicy_changelist")).content.decode()

    for severity in ("Critical", "High", "Medium", "Low"):
        assert severity in page
    assert 'name="form-0-resolution_hours"' in page  # edited right in the list


def test_an_sla_policy_is_edited_and_its_windows_checked(admin):
    policy = SlaPolicy.objects.get(severity="critical")
    url = reverse("admin:aftersales_slapolicy_change", args=[policy.pk])

    saved = admin.post(url, {"first_response_hours": "2", "resolution_hours": "12", "at_risk_share": "0.30"})
    refused = admin.post(url, {"first_response_hours": "10", "resolution_hours": "5", "at_risk_share": "0.30"})

    assert saved.status_code == 302
    assert refused.status_code == 200  # the form again, with the constraint's error
    assert "sla_windows_positive_and_ordered" in refused.content.decode()
    policy.refresh_from_db()
    assert (policy.first_response_hours, policy.resolution_hours) == (Decimal(2), Decimal(12))


def test_sla_policies_cannot_be_deleted(admin):
    policy = SlaPolicy.objects.get(severity="low")

    response = admin.post(reverse("admin:aftersales_slapolicy_delete", args=[policy.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert SlaPolicy.objects.filter(pk=policy.pk).exists()


# --- Tickets ------------------------------------------------------------------------------------------


def test_ticket_changelist_lists_tickets_with_filters_and_no_add_button(admin, ticket, org_a):
    page = admin.get(reverse("admin:aftersales_ticket_changelist")).content.decode()

    assert ticket.reference in page
    assert org_a.name in page
    for filter_title in ("By status", "By severity", "By category", "By SLA breached"):
        assert filter_title in page
    assert reverse("admin:aftersales_ticket_add") not in page
    assert admin.get(reverse("admin:aftersales_ticket_add")).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"status__exact": "in_progress"},
        {"severity__exact": "critical"},
        {"category__exact": "defect"},
        {"breached__exact": "0"},
    ],
)
def test_ticket_filters_find_the_ticket(admin, ticket, params):
    response = admin.get(reverse("admin:aftersales_ticket_changelist"), params)

    assert response.status_code == 200
    assert ticket.reference in response.content.decode()


def test_ticket_search_finds_by_reference_subject_and_order_reference(admin, ticket, delivered_a):
    url = reverse("admin:aftersales_ticket_changelist")

    def found(query):
        return ticket.reference in admin.get(url, {"q": query}).content.decode()

    assert found(ticket.reference)
    assert found("old rules")
    assert found(delivered_a.reference)
    assert not found("no such ticket")


def test_ticket_page_shows_thread_and_history_read_only(admin, ticket):
    response = admin.get(reverse("admin:aftersales_ticket_change", args=[ticket.pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert INTERNAL_NOTE in page
    assert "Status changed" in page
    assert 'name="subject"' in page  # the wording can be corrected
    for workflow_field in ("status", "severity", "resolution_due", "breached", "rating", "messages-0-body"):
        assert f'name="{workflow_field}"' not in page


def test_a_ticket_subject_is_corrected_but_its_workflow_is_not(admin, ticket):
    url = reverse("admin:aftersales_ticket_change", args=[ticket.pk])

    response = admin.post(
        url,
        {
            "subject": "Agent quotes the 2019 rules",
            "category": "complaint",
            "status": "closed",
            "severity": "low",
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.category) == ("Agent quotes the 2019 rules", "complaint")
    assert (ticket.status, ticket.severity) == (TicketStatus.IN_PROGRESS, "critical")


def test_tickets_cannot_be_deleted_and_their_history_is_kept(admin, ticket):
    changelist = admin.get(reverse("admin:aftersales_ticket_changelist")).content.decode()
    page = admin.get(reverse("admin:aftersales_ticket_change", args=[ticket.pk])).content.decode()
    response = admin.post(reverse("admin:aftersales_ticket_delete", args=[ticket.pk]), {"post": "yes"})

    assert 'value="delete_selected"' not in changelist
    assert reverse("admin:aftersales_ticket_delete", args=[ticket.pk]) not in page
    assert "-DELETE" not in page
    assert response.status_code == 403
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert ticket.messages.count() == 2
    assert ticket.events.count() == 2
