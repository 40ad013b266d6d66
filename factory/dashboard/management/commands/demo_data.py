from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dispatch.models import ComputePool, ComputeSite
from factory import roles
from factory.catalog.models import Sector
from factory.clock import now
from orders import services
from orders.models import ClientOrganization, Order, OrderStatus, OrderStep, StepStatus
from orders.services import client_user_attach

# username → staff role (None for the superuser). Listed in the README and API.md "Demo data".
DEMO_STAFF = {
    "admin": None,
    "ops": roles.OPERATIONS,
    "dispatcher": roles.DISPATCH,
    "reviewer": roles.SECURITY,
    "reviewer2": roles.SECURITY,
    "aftersales": roles.AFTERSALES,
}
# username → (organization, sector). Invented names.
DEMO_CLIENTS = {
    "client-a": ("Qinghe Provincial People's Hospital", Sector.HEALTHCARE),
    "client-b": ("Lanxi City Government Data Bureau", Sector.GOVERNMENT),
}


class Command(BaseCommand):
    help = "Create the demo users and data (idempotent: running it again keeps what exists)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Demo data is only created in demo mode (DEMO_MODE=true), never in production.")
        with transaction.atomic():
            created = self._users()
            pools = _pools()
            orders = self._orders()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo users ready ({created} created); {pools} compute pools; {orders} demo orders placed."
            )
        )

    def _users(self) -> int:
        User = get_user_model()
        created = 0
        for username, role in DEMO_STAFF.items():
            user, is_new = User.objects.get_or_create(username=username, defaults={"is_staff": role is None})
            if is_new:
                user.is_superuser = role is None
                user.set_password(settings.DEMO_PASSWORD)
                user.save()
                if role:
                    user.groups.add(Group.objects.get(name=role))
                created += 1
        for username, (organization_name, sector) in DEMO_CLIENTS.items():
            organization, _ = ClientOrganization.objects.get_or_create(
                name=organization_name, defaults={"sector": sector}
            )
            user, is_new = User.objects.get_or_create(username=username)
            if is_new:
                user.set_password(settings.DEMO_PASSWORD)
                user.save()
                client_user_attach(user=user, organization=organization)
                created += 1
        return created

    def _orders(self) -> int:
        """A few orders per demo client in several states, placed once (only when the client has none)."""
        User = get_user_model()
        ops = User.objects.get(username="ops")
        placed = 0
        for username, (title, product_type, sensitivity) in DEMO_CLIENT_ORDERS.items():
            client_user = User.objects.get(username=username)
            organization = client_user.client_membership.organization
            if Order.objects.filter(client=organization).exists():
                continue
            for target in (
                OrderStatus.SUBMITTED,
                OrderStatus.IN_PRODUCTION,
                OrderStatus.AWAITING_REVIEW,
                OrderStatus.DELIVERED,
            ):
                order = services.order_submit(
                    client=organization,
                    actor=client_user,
                    title=f"{title} ({target.label})",
                    product_type=product_type,
                    sector=organization.sector,
                    requirements="Demo order.",
                    data_sensitivity=sensitivity,
                    size="small",
                    priority="normal",
                    requested_delivery=now().date() + timedelta(days=45),
                )
                placed += 1
                if target != OrderStatus.SUBMITTED:
                    _drive(order, target, ops)
        return placed


# site → (city, in province, monitored PFLOPS, [(pool, kind, trusted, dispatchable PFLOPS, CNY per PFLOPS·h)]).
# ~2000 PFLOPS dispatchable out of ~7000 monitored, like the real provincial platform.
DEMO_SITES = {
    "Xinghe Provincial AI Computing Center": (
        "Xinghe",
        True,
        2600,
        [
            ("xinghe-train-trusted", "training", True, 420, 36),
            ("xinghe-data-trusted", "data_processing", True, 160, 32),
            ("xinghe-infer-trusted", "inference", True, 180, 34),
        ],
    ),
    "Lanxi Government Cloud": (
        "Lanxi",
        True,
        1200,
        [
            ("lanxi-data-trusted", "data_processing", True, 120, 32),
            ("lanxi-infer-trusted", "inference", True, 140, 34),
        ],
    ),
    "Qinghe Industrial Park Data Center": (
        "Qinghe",
        True,
        900,
        [("qinghe-train", "training", False, 260, 28), ("qinghe-data", "data_processing", False, 100, 26)],
    ),
    "Eastern Hub (out of province)": (
        "Eastport",
        False,
        1600,
        [("east-train", "training", False, 380, 24), ("east-infer", "inference", False, 140, 24)],
    ),
    "Western Compute Hub (out of province)": (
        "Westvale",
        False,
        700,
        [("west-data", "data_processing", False, 60, 22), ("west-infer", "inference", False, 40, 22)],
    ),
}


def _pools() -> int:
    for seed, (site_name, (city, in_province, monitored, pools)) in enumerate(DEMO_SITES.items()):
        site, _ = ComputeSite.objects.get_or_create(
            name=site_name, defaults={"city": city, "in_province": in_province, "monitored_pflops": monitored}
        )
        for index, (name, kind, trusted, capacity, price) in enumerate(pools):
            ComputePool.objects.get_or_create(
                name=name,
                defaults={
                    "site": site,
                    "kind": kind,
                    "trusted": trusted,
                    "capacity_pflops": Decimal(capacity),
                    "price_per_pflops_hour": Decimal(price),
                    "background_seed": seed * 10 + index + 1,
                },
            )
    return ComputePool.objects.count()


DEMO_CLIENT_ORDERS = {
    "client-a": ("Medical accompaniment agent", "agent", "sensitive"),
    "client-b": ("Policy Q&A model", "model", "internal"),
}


def _drive(order, target, ops):
    """Move a demo order forward by hand, as operations staff would before dispatch runs it."""
    services.order_accept(order=order, actor=ops)
    services.order_start_production(order=order, actor=ops)
    for stage in order.stages.order_by("position"):
        if target == OrderStatus.IN_PRODUCTION:
            step = OrderStep.objects.get(stage=stage, status=StepStatus.READY)
            services.step_finish(step=step, actor=ops)
            return
        for step in stage.steps.order_by("position"):
            services.step_finish(step=step, actor=ops)
        if target == OrderStatus.AWAITING_REVIEW:
            return
        stage.refresh_from_db()
        services.stage_release_gate(stage=stage, actor=ops, note="Demo")
    order.refresh_from_db()
    services.order_deliver(order=order, actor=ops)
