from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from factory import roles
from factory.catalog.models import Sector
from orders.models import ClientOrganization
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
        self.stdout.write(self.style.SUCCESS(f"Demo users ready ({created} created)."))

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
