from django.db import models
from django.utils.translation import gettext_lazy as _


class Sector(models.TextChoices):
    GOVERNMENT = "government", _("Government")
    HEALTHCARE = "healthcare", _("Healthcare")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    FINANCE = "finance", _("Finance")
    EDUCATION = "education", _("Education")
