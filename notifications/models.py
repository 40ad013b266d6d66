"""Notices: what the factory tells a person without being asked, in the in-app inbox and by e-mail.

One notice per event and recipient (a database constraint: an event retold is not a second notice), and one delivery
per notice and channel (nothing is e-mailed twice for one event). A delivery records its attempts and the last
error; the daily digest is a channel of its own, sent once a factory day.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from notifications.kinds import EmailChoice


class Notice(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=40)
    # What happened, named once: "order-accepted:12". The same event never makes a second notice for a person.
    event = models.CharField(_("event"), max_length=120)
    params = models.JSONField(_("details"), default=dict)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [models.UniqueConstraint(fields=["event", "recipient"], name="notice_once_per_event")]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notice_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notice_unread"),
        ]

    def __str__(self):
        return self.event


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    DIGEST = "digest", _("Daily digest")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("notice"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notice", "channel"], name="delivery_once_per_channel"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="delivery_channel_known"),
        ]
        indexes = [
            models.Index(fields=["channel"], condition=Q(status=DeliveryStatus.PENDING), name="delivery_pending")
        ]

    def __str__(self):
        return f"{self.notice} → {self.channel}"


class Preference(models.Model):
    """How one person is told of one kind of notice, when not as the kind's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preferences", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=40)
    email = models.CharField(_("e-mail"), max_length=12, choices=EmailChoice.choices)

    class Meta:
        verbose_name = _("notice preference")
        verbose_name_plural = _("notice preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="preference_once_per_kind")]

    def __str__(self):
        return f"{self.user} · {self.kind}: {self.email}"


class Reader(models.Model):
    """A person as notices reach them: the language their e-mails are written in, and their last digest's day."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_reader", verbose_name=_("user")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    digest_sent_on = models.DateField(_("last digest"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice reader")
        verbose_name_plural = _("notice readers")

    def __str__(self):
        return f"{self.user} ({self.language})"
