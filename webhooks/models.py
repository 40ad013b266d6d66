"""Webhooks: the endpoints a client organization registers, and one delivery per event and endpoint."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from factory import submissions
from factory.dates import moment_words

# An endpoint's URL, in characters.
URL_MAX = 500
# An endpoint's signing secret, in characters: the client chooses it, long enough not to be guessed.
SECRET_MIN = 16
SECRET_MAX = 200


class Endpoint(submissions.SubmittedOnce):
    """Where a client organization wants to hear of its events (`kinds`: client notice kinds), signed with `secret`:
    the client's own, given when registering and never shown again (not by the portal, the API or the admin)."""

    client = models.ForeignKey(
        "orders.ClientOrganization",
        on_delete=models.PROTECT,
        related_name="webhook_endpoints",
        verbose_name=_("client"),
    )
    url = models.CharField(_("URL"), max_length=URL_MAX)
    kinds = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=SECRET_MAX, editable=False)
    created_at = models.DateTimeField(_("registered at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        constraints = [
            # Postgres' jsonb: an endpoint subscribes to at least one kind.
            models.CheckConstraint(condition=~Q(kinds=[]), name="webhook_endpoint_has_kinds"),
            models.UniqueConstraint(fields=["created_by", "submission_key"], name="webhook_registered_once"),
        ]
        indexes = [models.Index(fields=["client", "created_at"], name="webhook_endpoint_client")]

    def __str__(self):
        return self.url

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event sent to one endpoint: retried on the factory clock until the endpoint answers 2xx or the retry
    window ends. The receiver de-duplicates by `event_id`."""

    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    event = models.CharField(_("event"), max_length=200)  # the notice's event, unique per happening
    event_id = models.CharField(_("event id"), max_length=32)
    kind = models.CharField(_("kind"), max_length=40)
    payload = models.JSONField(_("payload"))
    at = models.DateTimeField(_("happened at"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=1000, blank=True)
    first_attempt_at = models.DateTimeField(_("first attempt at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once_per_event"),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False), name="webhook_delivered_has_time"
            ),
        ]
        indexes = [
            # The sweep (webhooks.services.deliveries_send_due) reads only the pending ones, soonest due first.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "at"], name="webhook_delivery_log"),
        ]

    def __str__(self):
        return f"{self.event_id} → {self.endpoint_id} @ {moment_words(self.at)}"
