"""Issuing statements: every month on the factory clock (`statements_issue_monthly`, a Celery beat task), and on
demand for the month so far (`statement_issue`)."""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from factory import clock, roles
from factory.dates import moment_words
from factory.errors import IllegalTransition, NotPermitted
from orders.access import organization_of
from orders.models import ClientOrganization
from statements import permissions
from statements.figures import period_bounds, statement_figures
from statements.models import Statement, StatementKind

# A client's statements on demand come at least this far apart (factory time): each reads every order and ticket of
# the month, and a second one a minute later would say the same.
ON_DEMAND_GAP = timedelta(hours=1)


class StatementRefused(IllegalTransition):
    """A statement on demand asked for too soon after the last one (409)."""


def month_of(day: date) -> tuple[date, date]:
    """The first and the last day of `day`'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def may_issue(user, client: ClientOrganization) -> bool:
    """A client user for its own organization; operations and after-sales for any."""
    if roles.has_role(user, *permissions.ISSUE_ROLES):
        return True
    organization = organization_of(user)
    return organization is not None and organization.pk == client.pk


def _issue(*, client, kind: str, start: date, end: date, now: datetime, actor=None, number: str = "") -> Statement:
    reference = f"ST-{start:%Y%m}-{client.pk:04d}{number}"
    return Statement.objects.create(
        reference=reference,
        client=client,
        kind=kind,
        period_start=start,
        period_end=end,
        issued_at=now,
        issued_by=actor,
        figures=statement_figures(client=client, start=start, end=end, now=now),
    )


@transaction.atomic
def statement_issue(*, client: ClientOrganization, actor) -> Statement:
    """A statement of `client` for its month so far, at the factory's now."""
    if not may_issue(actor, client):
        raise NotPermitted(_("You may not issue statements for this client."))
    now = clock.now()
    # One at a time per client: the gap and the number below are read and written as one.
    client = ClientOrganization.objects.select_for_update().get(pk=client.pk)
    start, _end = month_of(timezone.localdate(now))
    on_demand = Statement.objects.filter(client=client, kind=StatementKind.ON_DEMAND, period_start=start)
    latest = on_demand.order_by("-issued_at").first()
    if latest is not None and now - latest.issued_at < ON_DEMAND_GAP:
        raise StatementRefused(
            _("Statement %(reference)s was issued at %(when)s: a new one can be issued an hour after it.")
            % {"reference": latest.reference, "when": moment_words(latest.issued_at)}
        )
    return _issue(
        client=client,
        kind=StatementKind.ON_DEMAND,
        start=start,
        end=timezone.localdate(now),
        now=now,
        actor=actor,
        number=f"-{on_demand.count() + 1}",
    )


def statements_issue_monthly(*, now: datetime | None = None) -> list[Statement]:
    """Last month's statement for every client organization with orders placed by its end and none yet (a client
    that has placed nothing has nothing to state)."""
    now = now or clock.now()
    start, end = month_of(timezone.localdate(now).replace(day=1) - timedelta(days=1))
    _since, until = period_bounds(start, end)
    due = (
        ClientOrganization.objects.filter(orders__created_at__lt=until)
        .exclude(statements__kind=StatementKind.MONTHLY, statements__period_start=start)
        .distinct()
    )
    issued = []
    for client in due.order_by("pk"):
        with transaction.atomic():
            # Another worker may have issued it meanwhile: the lock and a second look make it once.
            client = ClientOrganization.objects.select_for_update().get(pk=client.pk)
            if not Statement.objects.filter(client=client, kind=StatementKind.MONTHLY, period_start=start).exists():
                issued.append(_issue(client=client, kind=StatementKind.MONTHLY, start=start, end=end, now=now))
    return issued
