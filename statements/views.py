"""Statements as pages, PDF and CSV, for the client (its own) and the staff (any client's); issuing one on demand."""

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from factory import roles
from factory.actions import act
from factory.exports import export_response
from orders.access import require_organization
from orders.models import ClientOrganization
from statements import pdf, selectors, services
from statements.figures import labelled

PAGE_SIZE = 25


def _is_staff(user) -> bool:
    return roles.has_role(user)


@login_required
def client_statements(request):
    """The client's statements, the latest first, with the action to issue one for the month so far."""
    organization = require_organization(request.user)
    page = Paginator(selectors.statements_of(organization.pk), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "statements/client_list.html",
        {"organization": organization, "page": page, "statements": page.object_list},
    )


@login_required
@require_POST
def statement_issue(request, pk):
    """Issue a statement for the month so far: a client for itself (from its list), staff for a client (its page)."""
    client = get_object_or_404(ClientOrganization, pk=pk)
    if not services.may_issue(request.user, client):
        # Staff learn that their role may not; a client user learns nothing of another organization.
        if _is_staff(request.user):
            raise PermissionDenied(_("Operations and after-sales issue statements."))
        raise Http404(_("No such client."))
    back = reverse("client", args=[client.pk]) if _is_staff(request.user) else reverse("client_statements:list")
    return act(
        request,
        perform=lambda _data: services.statement_issue(client=client, actor=request.user),
        success=lambda statement: _("Statement %(reference)s issued.") % {"reference": statement.reference},
        back=back,
        then=lambda statement: reverse("statements:detail", args=[statement.pk]),
    )


@login_required
def statement_detail(request, pk):
    statement = selectors.statement_for_user(request.user, pk)
    return render(
        request,
        "statements/statement.html",
        {
            "statement": statement,
            "figures": labelled(statement.figures),
            "staff": _is_staff(request.user),
        },
    )


class _Printable:
    """What the PDF reads of a statement: its own fields, the client's name and the figures in words."""

    def __init__(self, statement):
        self.reference = statement.reference
        self.client_name = statement.client.name
        self.kind_label = statement.get_kind_display()
        self.period_start, self.period_end = statement.period_start, statement.period_end
        self.issued_at = statement.issued_at
        self.figures = labelled(statement.figures)


@login_required
def statement_pdf(request, pk):
    statement = selectors.statement_for_user(request.user, pk)
    response = HttpResponse(pdf.statement_pdf(statement=_Printable(statement)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{statement.reference}.pdf"'
    return response


def _number(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@login_required
def statement_csv(request, pk):
    """One line per order and workshop: what a billing system imports."""
    statement = selectors.statement_for_user(request.user, pk)
    figures = labelled(statement.figures)
    header = [
        _("Statement"),
        _("Order"),
        _("Title"),
        _("Status"),
        _("Delivered on"),
        _("Workshop"),
        _("Planned (PFLOPS·h)"),
        _("Used (PFLOPS·h)"),
        _("Planned cost (CNY)"),
        _("Cost (CNY)"),
    ]
    rows = (
        [
            statement.reference,
            order["reference"],
            order["title"],
            order["status_label"],
            order["delivered_on"] or "",
            row["workshop_label"],
            *(_number(row[key]) for key in ("planned_compute", "compute", "planned_cost", "cost")),
        ]
        for order in figures["orders"]
        for row in order["workshops"]
    )
    return export_response(name=statement.reference, fmt="csv", header=header, rows=rows)
