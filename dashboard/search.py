"""The header search of the staff: orders, client organizations, tickets and jobs by reference, title or name.

Each kind is searched by the same rule as its own list's search box (orders.selectors.order_text_matches,
aftersales.selectors.ticket_text_matches), so "all matches" links land on that list filtered alike, and only where
the person may look: tickets for the after-sales and operations staff, jobs for the dispatch center's. Trigram
indexes serve the fragments (factory.db.text_search_index): bench/search.py times it at 10,000 orders.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from aftersales import selectors as aftersales_selectors
from aftersales.permissions import is_ticket_staff
from dispatch import selectors as dispatch_selectors
from dispatch.models import ACTIVE_STATES
from dispatch.permissions import VIEW_ROLES as DISPATCH_VIEW_ROLES
from factory import roles
from orders import selectors as order_selectors
from orders.models import ClientOrganization

# Rows shown per kind; "all matches" opens the kind's own list, filtered alike.
SEARCH_ROWS = 8
# Fewer characters match nearly everything: the page asks for more instead.
SEARCH_TEXT_MIN = 2
SEARCH_TEXT_MAX = 100


@dataclass(frozen=True)
class Found:
    kind: str
    title: str
    rows: list
    more: bool  # more matches than shown
    list_url: str  # the kind's list, filtered by the same text ("" where there is none)


def clean_search_text(value) -> str:
    """The text as searched: trimmed, at most SEARCH_TEXT_MAX characters."""
    return str(value or "").strip()[:SEARCH_TEXT_MAX]


def _found(kind: str, title, queryset, list_url: str) -> Found:
    rows = list(queryset[: SEARCH_ROWS + 1])
    return Found(kind=kind, title=str(title), rows=rows[:SEARCH_ROWS], more=len(rows) > SEARCH_ROWS, list_url=list_url)


def _list_url(name: str, text: str) -> str:
    return f"{reverse(name)}?{urlencode({'search': text})}"


def search(*, user, text: str) -> list[Found]:
    """What `user` may see that `text` names, kind by kind (a query per kind, whatever the data)."""
    found = [
        _found(
            "orders",
            _("Orders"),
            order_selectors.order_list(user=user)
            .filter(order_selectors.order_text_matches(text))
            .order_by("-created_at", "-id"),
            _list_url("orders:list", text),
        ),
        _found(
            "clients",
            _("Client organizations"),
            ClientOrganization.objects.filter(name__icontains=text).order_by("name"),
            "",
        ),
    ]
    if is_ticket_staff(user):
        found.append(
            _found(
                "tickets",
                _("Tickets"),
                aftersales_selectors.tickets()
                .filter(aftersales_selectors.ticket_text_matches(text))
                .order_by("-opened_at", "-id"),
                _list_url("aftersales:tickets", text),
            )
        )
    if roles.has_role(user, *DISPATCH_VIEW_ROLES):
        # The jobs still to run or running: a finished job is read on its order's page.
        found.append(
            _found(
                "jobs",
                _("Jobs queued or running"),
                dispatch_selectors.job_list()
                .filter(order_selectors.order_text_matches(text, via="order__"), state__in=ACTIVE_STATES)
                .order_by("-order__created_at", "id"),
                _list_url("dispatch:jobs", text),
            )
        )
    return found
