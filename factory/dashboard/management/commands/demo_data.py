from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

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
            orders = self._orders()
        self.stdout.write(self.style.SUCCESS(f"Demo users ready ({created} created); {orders} demo orders placed."))

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
