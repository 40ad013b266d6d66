"""The standard process catalog loaded by the data migration (tests run on the migrated database)."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from catalog.models import SIZE_FACTORS, ProcessStep, RoutingStage, Size, Toolchain, Workshop
from catalog.selectors import routing_for, steps_by_workshop
from catalog.standard_catalog import load_standard_catalog
from demo.data import DEMO_SITES
from dispatch.engine.background import MAX_FRACTION

pytestmark = pytest.mark.django_db


def _snapshot():
    """Everything the loader writes, in a comparable form."""
    return {
        "toolchains": list(Toolchain.objects.order_by("code").values_list("code", "name", "name_zh", "description")),
        "steps": list(
            ProcessStep.objects.order_by("code").values_list(
                "code",
                "name",
                "name_zh",
                "workshop",
                "position",
                "pool_kind",
                "demand_pflops",
                "work_pflops_hours",
                "nominal_hours",
                "min_size",
            )
        ),
        "step_toolchains": sorted(
            ProcessStep.toolchains.through.objects.values_list("processstep__code", "toolchain__code")
        ),
        "routings": list(
            RoutingStage.objects.order_by("product_type", "position").values_list(
                "product_type", "workshop", "position"
            )
        ),
    }


def test_catalog_has_exactly_75_process_steps_in_all_four_workshops():
    assert ProcessStep.objects.count() == 75
    assert set(ProcessStep.objects.values_list("workshop", flat=True)) == set(Workshop.values)


def test_catalog_has_at_least_180_toolchains_each_used_by_a_step():
    assert Toolchain.objects.count() >= 180
    assert not Toolchain.objects.filter(steps__isnull=True).exists()


def test_every_step_is_run_by_one_to_four_toolchains():
    for step in ProcessStep.objects.prefetch_related("toolchains"):
        assert 1 <= len(step.toolchains.all()) <= 4, step.code


def test_each_workshop_numbers_its_steps_one_to_n_without_gaps():
    positions = defaultdict(list)
    for workshop, position in ProcessStep.objects.order_by("position").values_list("workshop", "position"):
        positions[workshop].append(position)

    for workshop in Workshop.values:
        assert positions[workshop] == list(range(1, len(positions[workshop]) + 1)), workshop


def test_every_step_has_both_names_and_a_positive_compute_demand_and_duration():
    for step in ProcessStep.objects.all():
        assert step.name.strip(), step.code
        assert step.name_zh.strip(), step.code
        assert step.demand_pflops > 0, step.code
        assert step.nominal_hours > 0, step.code
        assert step.work_pflops_hours >= 0, step.code


def test_only_a_few_steps_are_reserved_for_medium_or_large_orders():
    optional = ProcessStep.objects.exclude(min_size=Size.SMALL).count()

    assert 1 <= optional <= 15


def test_each_product_type_is_routed_through_its_workshops_in_line_order():
    assert routing_for("dataset") == ["data"]
    assert routing_for("model") == ["data", "model"]
    assert routing_for("agent") == ["data", "model", "agent"]
    assert routing_for("application") == ["data", "model", "agent", "integration"]


def test_loading_the_standard_catalog_again_changes_nothing():
    before = _snapshot()

    load_standard_catalog(Toolchain, ProcessStep, RoutingStage)
    load_standard_catalog(Toolchain, ProcessStep, RoutingStage)

    assert _snapshot() == before
    assert ProcessStep.objects.count() == 75


def test_loading_the_standard_catalog_restores_steps_an_admin_reordered():
    before = _snapshot()
    first, second = ProcessStep.objects.filter(workshop=Workshop.DATA).order_by("position")[:2]
    ProcessStep.objects.filter(pk=first.pk).update(position=999)
    ProcessStep.objects.filter(pk=second.pk).update(position=1, name="Renamed")

    load_standard_catalog(Toolchain, ProcessStep, RoutingStage)

    assert _snapshot() == before


def test_loading_the_standard_catalog_keeps_a_step_an_admin_added_after_the_standard_ones():
    data_steps = ProcessStep.objects.filter(workshop=Workshop.DATA).count()
    ProcessStep.objects.filter(workshop=Workshop.DATA, position=data_steps).update(code="data-custom-step")

    load_standard_catalog(Toolchain, ProcessStep, RoutingStage)

    assert ProcessStep.objects.get(code="data-custom-step").position == data_steps + 1
    assert ProcessStep.objects.filter(workshop=Workshop.DATA).count() == data_steps + 1


def test_small_orders_skip_steps_reserved_for_medium_or_large_orders():
    reserved = set(
        ProcessStep.objects.filter(workshop=Workshop.DATA).exclude(min_size=Size.SMALL).values_list("code", flat=True)
    )
    assert reserved

    small = {step.code for step in steps_by_workshop(["data"], Size.SMALL)["data"]}
    large = {step.code for step in steps_by_workshop(["data"], Size.LARGE)["data"]}

    assert not small & reserved
    assert reserved <= large
    assert large == set(ProcessStep.objects.filter(workshop=Workshop.DATA).values_list("code", flat=True))


def test_admin_process_step_list_renders_for_a_superuser(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("admin:catalog_processstep_changelist"), {"workshop__exact": "data"})

    assert response.status_code == 200
    assert "data-deidentify" in response.content.decode()


@pytest.mark.parametrize("name", ["toolchain", "routingstage"])
def test_admin_toolchain_and_routing_lists_render_for_a_superuser(client, admin_user, name):
    client.force_login(admin_user)

    response = client.get(reverse(f"admin:catalog_{name}_changelist"))

    assert response.status_code == 200


def test_admin_toolchain_list_filters_by_workshop(client, admin_user):
    client.force_login(admin_user)

    page = client.get(
        reverse("admin:catalog_toolchain_changelist"), {"steps__workshop__exact": "agent"}
    ).content.decode()

    assert "faiss-indexer" in page
    assert "minhash-dedup" not in page


def test_admin_toolchain_search_finds_chinese_names(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("admin:catalog_toolchain_changelist"), {"q": "去重"}).content.decode()

    assert "minhash-dedup" in page
    assert "faiss-indexer" not in page


def test_admin_process_step_edit_page_renders_for_a_superuser(client, admin_user):
    client.force_login(admin_user)
    step = ProcessStep.objects.get(code="model-sft")

    response = client.get(reverse("admin:catalog_processstep_change", args=[step.pk]))

    assert response.status_code == 200
    assert "sft-trainer-megatron" in response.content.decode()


def test_every_step_runs_at_its_demand_for_its_nominal_hours():
    for step in ProcessStep.objects.all():
        assert step.work_pflops_hours == step.demand_pflops * step.nominal_hours, step.code


def test_every_step_fits_the_largest_trusted_demo_pool_of_its_kind_at_peak_background_with_room_left():
    largest = defaultdict(int)
    for _city, in_province, _monitored, pools in DEMO_SITES.values():
        for _name, kind, trusted, capacity, _price in pools:
            if trusted and in_province:
                largest[kind] = max(largest[kind], capacity)

    # Sensitive work may only run there: it must start even when other tenants use the most they can, and
    # leave at least 30 % of what they leave to other jobs.
    for step in ProcessStep.objects.all():
        room = Decimal(largest[step.pool_kind]) * (1 - Decimal(str(MAX_FRACTION)))
        assert step.demand_pflops <= room * Decimal("0.7"), step.code


def test_a_medium_agent_takes_about_a_month_of_steps_and_gates():
    workshops = routing_for("agent")
    hours = sum(step.nominal_hours for steps in steps_by_workshop(workshops, Size.MEDIUM).values() for step in steps)
    days = (hours * SIZE_FACTORS[Size.MEDIUM] + settings.GATE_REVIEW_HOURS * len(workshops)) / 24

    assert 25 <= days <= 30
