from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from factory.catalog.models import Sector


class ClientOrganization(models.Model):
    """A client of the factory: a hospital, bureau, bank, manufacturer or school."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    contact_email = models.EmailField(_("contact email"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("client organization")
        verbose_name_plural = _("client organizations")

    def __str__(self):
        return self.name


class ClientMembership(models.Model):
    """Makes a user a client user of exactly one organization (the one-to-one enforces it)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="client_membership",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        ClientOrganization, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("organization")
    )

    class Meta:
        verbose_name = _("client user")
        verbose_name_plural = _("client users")

    def __str__(self):
        return f"{self.user} @ {self.organization}"
