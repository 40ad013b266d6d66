"""A page per client organization for the staff (`/clients/<id>/`): its orders, tickets, ratings, compute budget,
statements, the people notices reach and its webhooks.

A fixed number of queries whatever the client's history: the counts are aggregated in Postgres, the lists are the
latest few, each with a link to its own list filtered by the client.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, F, Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import formats
from django.utils.http import urlencode
from django.utils.timezone import localdate
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from aftersales import selectors as aftersales_selectors
from aftersales.models import ACTIVE_STATUSES as TICKET_ACTIVE_STATUSES
from dashboard.operations import ON_THE_FLOOR, Tile
from dispatch.models import ClientBudget
from dispatch.permissions import VIEW_ROLES as DISPATCH_VIEW_ROLES
from dispatch.services import client_usage_this_month
from factory import roles
from orders.filters import with_due_dates
from orders.models import HANDED_OVER_STATUSES, ClientOrganization, Order
from orders.notices import client_people
from statements import permissions as statement_permissions
from statements.selectors import statements_of
from webhooks.selectors import endpoints_of_client

# The latest few of each list; the full lists are a link away, filtered by the client.
CLIENT_PAGE_ROWS = 10


@dataclass(frozen=True)
class ClientPage:
    client: ClientOrganization
    tiles: list[Tile]
    orders: list[Order]
    tickets: list
    rated: list[Order]
    orders_url: str
    tickets_url: str
    statements: list
    can_issue_statement: bool
    contacts: list
    webhooks: list


def _number(value) -> str:
    return formats.number_format(value, 0, use_l10n=True, force_grouping=True)


def _order_numbers(client: ClientOrganization, now: datetime) -> dict:
    today = localdate(now)
    floor = Q(status__in=ON_THE_FLOOR)
    handed_over = Q(status__in=HANDED_OVER_STATUSES)
    return with_due_dates(Order.objects.filter(client=client)).aggregate(
        in_flight=Count("id", filter=floor),
        late=Count("id", filter=floor & (Q(due_date__lt=today) | Q(eta_date__gt=F("due_date")))),
        delivered=Count("id", filter=handed_over),
        on_time=Count("id", filter=handed_over & Q(delivered_date__lte=F("due_date"))),
        mean_rating=Avg("rating"),
        ratings=Count("rating"),
    )


def client_page(*, pk, user, now: datetime) -> ClientPage:
    client = get_object_or_404(ClientOrganization, pk=pk)
    orders_url = f"{reverse('orders:list')}?{urlencode({'client': client.pk})}"
    tickets_url = f"{reverse('aftersales:tickets')}?{urlencode({'client': client.pk, 'status': ''})}"
    numbers = _order_numbers(client, now)
    tickets = aftersales_selectors.tickets().filter(order__client=client)
    ticket_numbers = tickets.aggregate(
        open=Count("id", filter=Q(status__in=TICKET_ACTIVE_STATUSES)),
        breached=Count("id", filter=Q(status__in=TICKET_ACTIVE_STATUSES, breached=True)),
    )
    budget = ClientBudget.objects.filter(client=client).first()
    used = client_usage_this_month(now).get(client.pk, 0.0)
    # Budgets are set and read beside fair share, in the dispatch center: a link for those who may open it.
    fairness_url = reverse("dispatch:fairness") if roles.has_role(user, *DISPATCH_VIEW_ROLES) else ""
    tiles = [
        Tile(
            key="in_flight",
            label=_("Orders in the factory"),
            value=_number(numbers["in_flight"]),
            detail=ngettext("%(count)d late", "%(count)d late", numbers["late"]) % {"count": numbers["late"]},
            url=orders_url,
            tone="red" if numbers["late"] else "",
        ),
        Tile(
            key="delivered",
            label=_("Delivered"),
            value=_number(numbers["delivered"]),
            detail=_("%(count)d on time") % {"count": numbers["on_time"]},
            url=orders_url,
        ),
        Tile(
            key="rating",
            label=_("Satisfaction"),
            value=formats.number_format(numbers["mean_rating"], 1) if numbers["mean_rating"] is not None else "—",
            detail=ngettext("from %(count)d rating", "from %(count)d ratings", numbers["ratings"])
            % {"count": numbers["ratings"]},
            url="#ratings",
        ),
        Tile(
            key="tickets",
            label=_("Open tickets"),
            value=_number(ticket_numbers["open"]),
            detail=ngettext("%(count)d past its SLA", "%(count)d past their SLA", ticket_numbers["breached"])
            % {"count": ticket_numbers["breached"]},
            url=tickets_url,
            tone="red" if ticket_numbers["breached"] else "",
        ),
        _budget_tile(budget, used, url=fairness_url),
    ]
    return ClientPage(
        client=client,
        tiles=tiles,
        orders=list(Order.objects.filter(client=client).order_by("-created_at", "-id")[:CLIENT_PAGE_ROWS]),
        tickets=list(tickets.order_by("-opened_at", "-id")[:CLIENT_PAGE_ROWS]),
        rated=list(
            Order.objects.filter(client=client, rating__isnull=False).order_by("-delivered_at", "-id")[
                :CLIENT_PAGE_ROWS
            ]
        ),
        orders_url=orders_url,
        tickets_url=tickets_url,
        statements=list(statements_of(client.pk)[:CLIENT_PAGE_ROWS]),
        can_issue_statement=roles.has_role(user, *statement_permissions.ISSUE_ROLES),
        contacts=list(
            client_people(client.pk).select_related("notice_reader").order_by("last_name", "first_name", "username")
        ),
        webhooks=endpoints_of_client(client.pk),
    )


def _budget_tile(budget: ClientBudget | None, used: float, *, url: str) -> Tile:
    """Compute used this month against the monthly budget (dispatch.models.ClientBudget), amber past its warning."""
    value = _("%(used)s PFLOPS·h") % {"used": _number(round(used))}
    if budget is None:
        return Tile(key="budget", label=_("Compute this month"), value=value, detail=_("No budget set"), url=url)
    share = used / float(budget.monthly_pflops_hours) if budget.monthly_pflops_hours else 0.0
    return Tile(
        key="budget",
        label=_("Compute this month"),
        value=value,
        detail=_("%(share)s%% of a %(budget)s PFLOPS·h budget")
        % {"share": _number(round(share * 100)), "budget": _number(budget.monthly_pflops_hours)},
        url=url,
        tone="red" if share >= 1 else ("amber" if share >= float(budget.warn_at) else ""),
    )
