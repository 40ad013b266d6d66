"""The standard process catalog: workshops, process steps, the toolchains that run them, routings.

Owned by the process center and edited by admins. Orders copy what they need from here when they
are accepted, so editing the catalog never changes an order already in production.
"""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# Size factors live in a module without Django (the benchmarks read them); the project reads them here.
from catalog.sizes import SIZE_FACTORS, SIZE_RANK  # noqa: F401 (SIZE_FACTORS re-exported)


class Sector(models.TextChoices):
    GOVERNMENT = "government", _("Government")
    HEALTHCARE = "healthcare", _("Healthcare")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    FINANCE = "finance", _("Finance")
    EDUCATION = "education", _("Education")


class Workshop(models.TextChoices):
    """The four workshops, declared in line order (data first, integration last)."""

    DATA = "data", _("Data workshop")
    MODEL = "model", _("Model workshop")
    AGENT = "agent", _("Agent workshop")
    INTEGRATION = "integration", _("Integration workshop")

    @classmethod
    def position(cls, workshop: str) -> int:
        return cls.values.index(workshop)


class ProductType(models.TextChoices):
    DATASET = "dataset", _("Dataset")
    MODEL = "model", _("Model")
    AGENT = "agent", _("Agent")
    APPLICATION = "application", _("Application")


class PoolKind(models.TextChoices):
    DATA_PROCESSING = "data_processing", _("Data processing")
    TRAINING = "training", _("Training")
    INFERENCE = "inference", _("Inference")


class Size(models.TextChoices):
    SMALL = "small", _("Small")
    MEDIUM = "medium", _("Medium")
    LARGE = "large", _("Large")


class Toolchain(models.Model):
    """An automated toolchain of the factory (a pipeline, an evaluation harness, a deployer...)."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("Chinese name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("toolchain")
        verbose_name_plural = _("toolchains")

    def __str__(self):
        return self.code

    @property
    def display_name(self):
        return self.name_zh if (get_language() or "").startswith("zh") else self.name


class ProcessStep(models.Model):
    """One of the standard process steps (工序) of a workshop."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("Chinese name"), max_length=120)
    workshop = models.CharField(_("workshop"), max_length=20, choices=Workshop.choices)
    position = models.PositiveSmallIntegerField(_("order in the workshop"))
    pool_kind = models.CharField(_("pool kind"), max_length=20, choices=PoolKind.choices)
    demand_pflops = models.DecimalField(_("compute demand (PFLOPS)"), max_digits=8, decimal_places=2)
    work_pflops_hours = models.DecimalField(_("compute work (PFLOPS·h)"), max_digits=10, decimal_places=2)
    nominal_hours = models.DecimalField(_("nominal duration (h)"), max_digits=7, decimal_places=2)
    min_size = models.CharField(
        _("included from size"),
        max_length=10,
        choices=Size.choices,
        default=Size.SMALL,
        help_text=_("Orders smaller than this skip the step (optional by size)."),
    )
    toolchains = models.ManyToManyField(
        Toolchain, related_name="steps", verbose_name=_("toolchains"), help_text=_("The toolchains that run this step.")
    )

    class Meta:
        ordering = ["workshop", "position"]
        verbose_name = _("process step")
        verbose_name_plural = _("process steps")
        constraints = [
            models.UniqueConstraint(fields=["workshop", "position"], name="catalog_step_unique_position"),
            models.CheckConstraint(condition=models.Q(demand_pflops__gt=0), name="catalog_step_demand_positive"),
            models.CheckConstraint(condition=models.Q(work_pflops_hours__gte=0), name="catalog_step_work_not_negative"),
            models.CheckConstraint(condition=models.Q(nominal_hours__gt=0), name="catalog_step_duration_positive"),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"

    @property
    def display_name(self):
        return self.name_zh if (get_language() or "").startswith("zh") else self.name

    def applies_to(self, size: str) -> bool:
        return SIZE_RANK[size] >= SIZE_RANK[self.min_size]


class RoutingStage(models.Model):
    """One workshop in the routing of a product type; the stages of a routing run by `position`."""

    product_type = models.CharField(_("product type"), max_length=20, choices=ProductType.choices)
    workshop = models.CharField(_("workshop"), max_length=20, choices=Workshop.choices)
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        ordering = ["product_type", "position"]
        verbose_name = _("routing stage")
        verbose_name_plural = _("routing stages")
        constraints = [
            models.UniqueConstraint(fields=["product_type", "workshop"], name="catalog_routing_unique_workshop"),
            models.UniqueConstraint(fields=["product_type", "position"], name="catalog_routing_unique_position"),
        ]

    def __str__(self):
        return f"{self.get_product_type_display()} → {self.get_workshop_display()}"
