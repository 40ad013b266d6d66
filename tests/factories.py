"""factory-boy factories shared by the test folders (one section per app)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from factory.catalog.models import Sector
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


def client_user(organization=None, **kwargs):
    user = UserFactory(**kwargs)
    client_user_attach(user=user, organization=organization or ClientOrganizationFactory())
    return user
