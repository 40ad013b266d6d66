"""A client organization's statement: what its orders used and cost against their quotes, and its tickets' SLA
results and ratings, over a month of the factory calendar.

A statement is kept as issued (`figures`, statements.figures), never recomputed: what a client was sent is what it
can download again. One monthly statement per client and month (the factory clock issues it when the month is
over); statements on demand cover the month so far and are as many as were asked for.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from orders.models import ClientOrganization


class StatementKind(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ON_DEMAND = "on_demand", _("On demand")


class Statement(models.Model):
    reference = models.CharField(_("reference"), max_length=30, unique=True)
    client = models.ForeignKey(
        ClientOrganization, on_delete=models.PROTECT, related_name="statements", verbose_name=_("client")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=StatementKind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    issued_at = models.DateTimeField(_("issued at"))
    # Null when the factory clock issued it (the monthly statements).
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    figures = models.JSONField(_("figures"))

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "period_start"],
                condition=Q(kind=StatementKind.MONTHLY),
                name="statement_one_monthly_per_client_and_month",
            ),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="statement_period_ordered"),
            models.CheckConstraint(condition=Q(kind__in=StatementKind.values), name="statement_kind_known"),
        ]
        indexes = [models.Index(fields=["client", "-issued_at"], name="statement_client_issued")]

    def __str__(self):
        return self.reference
