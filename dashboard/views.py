from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from aftersales.display import STATUS_TONE as TICKET_STATUS_TONE
from dashboard import operations, plan, selectors
from dashboard.clients import client_page
from dashboard.search import SEARCH_TEXT_MAX, SEARCH_TEXT_MIN, clean_search_text, search
from dispatch.display import JOB_STATE_TONE
from factory import charts, clock, roles
from orders.access import organization_of
from orders.display import ORDER_STATUS_TONE
from security import permissions as security_permissions


def _operations_context(now) -> dict:
    center = operations.operations_center(now)
    return {
        "center": center,
        "tiles": center.tiles,
        "charts": center.charts,
        "figures": charts.figures_by_key(center.charts),
        "active": center.active,
    }


@login_required
def operations_center(request):
    """The operations center. Client users land on their portal instead."""
    if not roles.has_role(request.user) and organization_of(request.user) is not None:
        return redirect("portal:home")
    if not roles.has_role(request.user):
        return render(request, "dashboard/no_role.html", status=403)
    return render(request, "dashboard/operations_center.html", _operations_context(clock.now()))


@roles.role_required(live=True)
def operations_center_live(request):
    """What the operations center redraws every few seconds: tiles, figures and the active-orders table."""
    context = _operations_context(clock.now())
    return JsonResponse(
        {
            "at": context["center"].now.isoformat(),
            "tiles": {
                tile.key: {"value": tile.value, "detail": tile.detail, "tone": tile.tone} for tile in context["tiles"]
            },
            "charts": context["figures"],
            "summaries": charts.summaries_by_key(context["charts"]),
            "fragments": {"active": render_to_string("dashboard/_active_orders.html", context, request=request)},
        }
    )


@roles.role_required(*security_permissions.READ_ROLES)
def compliance_record(request, pk):
    """The printable compliance record of a sensitive order."""
    return render(request, "dashboard/compliance_record.html", {"record": selectors.compliance_record(order_id=pk)})


@roles.role_required(*plan.PLAN_ROLES)
def plan_page(request):
    """Throughput against the yearly plan: delivered vertical models, where work waits, rework, satisfaction."""
    page = plan.plan(clock.now())
    return render(
        request,
        "dashboard/plan.html",
        {"plan": page, "charts": page.charts, "figures": charts.figures_by_key(page.charts)},
    )


# Each kind's badge: the tone its own list gives it (UI.md: the word goes with the colour).
_FOUND_TONES = {"orders": ORDER_STATUS_TONE, "tickets": TICKET_STATUS_TONE, "jobs": JOB_STATE_TONE}


@roles.role_required()
def search_page(request):
    """The header search: orders, client organizations, tickets and jobs that hold the text (dashboard.search)."""
    text = clean_search_text(request.GET.get("q"))
    found = search(user=request.user, text=text) if len(text) >= SEARCH_TEXT_MIN else []
    for kind in found:
        tones = _FOUND_TONES.get(kind.kind, {})
        for row in kind.rows:
            row.tone = tones.get(getattr(row, "status", None) or getattr(row, "state", None), "grey")
    return render(
        request,
        "dashboard/search.html",
        {
            "text": text,
            "search_text": text,  # the header's box keeps it too
            "found": found,
            "matches": sum(len(kind.rows) for kind in found),
            "too_short": 0 < len(text) < SEARCH_TEXT_MIN,
            "text_min": SEARCH_TEXT_MIN,
            "text_max": SEARCH_TEXT_MAX,
        },
    )


@roles.role_required()
def client_detail(request, pk):
    """A client organization as the staff see it: orders, tickets, ratings and compute budget (dashboard.clients)."""
    page = client_page(pk=pk, user=request.user, now=clock.now())
    for order in page.orders:
        order.tone = ORDER_STATUS_TONE.get(order.status, "grey")
    return render(
        request,
        "dashboard/client.html",
        {"page": page, "client": page.client, "tiles": page.tiles},
    )
