"""factory-boy factories shared by the test folders (one section per app)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from catalog.models import Sector
from factory import roles
from orders.models import ClientOrganization
from orders.services import client_user_attach
from tests.boy import factory_boy

PASSWORD = "test-pass-123"


class UserFactory(factory_boy.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory_boy.Sequence(lambda n: f"user{n}")
    email = factory_boy.LazyAttribute(lambda user: f"{user.username}@example.test")
    password = factory_boy.PostGenerationMethodCall("set_password", PASSWORD)

    @factory_boy.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(*(Group.objects.get(name=name) for name in extracted))
        self.save()


class ClientOrganizationFactory(factory_boy.django.DjangoModelFactory):
    class Meta:
        model = ClientOrganization

    name = factory_boy.Sequence(lambda n: f"Client organization {n}")
    sector = Sector.HEALTHCARE


# A user of each staff role, named as the persona fixtures of tests/conftest.py name them; "admin" is a superuser.
STAFF_USERNAMES = {
    roles.OPERATIONS: "ops-user",
    roles.DISPATCH: "dispatch-user",
    roles.SECURITY: "security-user",
    roles.AFTERSALES: "aftersales-user",
    "admin": "admin-user",
}


def user_per_role(**fields) -> dict:
    """{role: user} for every staff role and a superuser ("admin"); `fields` adds attributes per role
    (`operations={"first_name": ...}`). Client users belong to an organization: see `client_user`."""
    users = {}
    for role, username in STAFF_USERNAMES.items():
        access = {"is_staff": True, "is_superuser": True} if role == "admin" else {"roles": [role]}
        users[role] = UserFactory(username=username, **access, **fields.get(role, {}))
    return users


def client_user(organization=None, **kwargs):
    user = UserFactory(**kwargs)
    client_user_attach(user=user, organization=organization or ClientOrganizationFactory())
    return user


def reference_data_load():
    """What the data migrations create: role groups, the standard catalog, checklists and SLA policies (a flushed
    database has lost them)."""
    from aftersales.models import SlaPolicy
    from aftersales.sla import load_default_policies
    from catalog.models import ProcessStep, RoutingStage, Toolchain
    from catalog.standard_catalog import load_standard_catalog
    from security.checklists import load_default_checklists
    from security.models import ChecklistItem

    roles.ensure_role_groups(Group)
    load_standard_catalog(Toolchain, ProcessStep, RoutingStage)
    load_default_checklists(ChecklistItem)
    load_default_policies(SlaPolicy)


# --- Orders: built through the real services, never by raw ORM edits -------------------------------


def order_fields(**overrides) -> dict:
    from datetime import timedelta

    from factory import clock

    fields = {
        "title": "Discharge-summary assistant",
        "product_type": "model",
        "sector": "healthcare",
        "requirements": "Summarise discharge notes for ward doctors.",
        "data_sensitivity": "internal",
        "size": "small",
        "priority": "normal",
        "requested_delivery": clock.now().date() + timedelta(days=60),
    }
    fields.update(overrides)
    return fields


def place_order(*, client=None, actor=None, **overrides):
    """A submitted order, placed by `actor` (default: a new client user of `client`)."""
    from orders.services import order_submit

    client = client or ClientOrganizationFactory()
    actor = actor or client_user(organization=client)
    return order_submit(client=client, actor=actor, **order_fields(**overrides))


def finish_current_stage(order, actor):
    """Finish every step of the order's workshop in production by hand; the stage then awaits review."""
    from orders.models import OrderStep, StepStatus
    from orders.services import step_finish

    while True:
        step = OrderStep.objects.filter(stage__order=order, status__in=[StepStatus.READY, StepStatus.RUNNING]).first()
        if step is None:
            break
        step_finish(step=step, actor=actor)
    order.refresh_from_db()
    return order


def gate_reviewer():
    """The security reviewer who releases the gates of orders the factories drive along (only the security center
    releases a gate, orders.permissions)."""
    from factory import roles

    return UserFactory(username="gate-reviewer", roles=[roles.SECURITY])


def order_at(status, *, staff, client=None, actor=None, reviewer=None, **overrides):
    """An order driven through the services to `status` (submitted … delivered): `staff` (operations) accepts,
    starts, finishes steps and delivers; `reviewer` (default: gate_reviewer()) releases the gates."""
    from orders.models import OrderStatus
    from orders.services import order_accept, order_deliver, order_start_production, stage_release_gate

    order = place_order(client=client, actor=actor, **overrides)
    if status == OrderStatus.SUBMITTED:
        return order
    order_accept(order=order, actor=staff)
    if status == OrderStatus.ACCEPTED:
        return order
    order_start_production(order=order, actor=staff)
    if status == OrderStatus.IN_PRODUCTION:
        order.refresh_from_db()
        return order
    for stage in order.stages.order_by("position"):
        finish_current_stage(order, staff)
        if status == OrderStatus.AWAITING_REVIEW:
            return order
        stage.refresh_from_db()
        stage_release_gate(stage=stage, actor=reviewer or gate_reviewer())
    order.refresh_from_db()
    if status == OrderStatus.READY:
        return order
    order_deliver(order=order, actor=staff)
    order.refresh_from_db()
    return order


# --- Dispatch ------------------------------------------------------------------------------------


def compute_pool(*, kind="data_processing", capacity=100, trusted=True, in_province=True, state="active", **extra):
    """A compute pool at a site of its own, with no background load unless a seed is given."""
    from decimal import Decimal

    from dispatch.models import ComputePool, ComputeSite

    number = ComputePool.objects.count() + 1
    site = ComputeSite.objects.create(
        name=f"Site {number}", city="Xinghe", in_province=in_province, monitored_pflops=Decimal(capacity) * 3
    )
    fields = {
        "site": site,
        "name": f"pool-{number}-{kind}",
        "kind": kind,
        "trusted": trusted,
        "capacity_pflops": Decimal(capacity),
        "state": state,
        "price_per_pflops_hour": Decimal("30.00"),
        "background_seed": 0,
    }
    fields.update(extra)
    return ComputePool.objects.create(**fields)


# --- After-sales ---------------------------------------------------------------------------------


def ticket_fields(**overrides) -> dict:
    fields = {
        "category": "defect",
        "severity": "medium",
        "subject": "Answers cite the wrong regulation",
        "body": "Since Monday the agent quotes the 2019 rules instead of the 2024 ones.",
    }
    fields.update(overrides)
    return fields


def open_ticket(*, order, actor, **overrides):
    """A ticket opened through the service on a delivered order."""
    from aftersales.services import ticket_open

    return ticket_open(order=order, actor=actor, **ticket_fields(**overrides))
