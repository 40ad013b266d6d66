"""Reads of the catalog used by orders (routing instantiation, quotes) and by pages."""

from collections import defaultdict

from catalog.models import ProcessStep, RoutingStage


def routing_for(product_type: str) -> list[str]:
    """The workshops a product type passes through, in line order."""
    return list(
        RoutingStage.objects.filter(product_type=product_type).order_by("position").values_list("workshop", flat=True)
    )


def steps_by_workshop(workshops: list[str], size: str) -> dict[str, list[ProcessStep]]:
    """The catalog steps of `workshops` that apply to an order of `size`, in order, in one query."""
    steps = defaultdict(list)
    for step in ProcessStep.objects.filter(workshop__in=workshops).order_by("workshop", "position"):
        if step.applies_to(size):
            steps[step.workshop].append(step)
    return steps
