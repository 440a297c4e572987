import factory

from accounts.models import Role, User
from commissioning.models import Organisation, Place, Sector, System, VsoKind

TEST_PASSWORD = "correct-horse-battery"


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = System
        django_get_or_create = ["name"]

    name = "Eastern Health"


class PlaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Place
        django_get_or_create = ["system", "name"]

    system = factory.SubFactory(SystemFactory)
    name = factory.Sequence(lambda n: f"Place {n}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    system = factory.SubFactory(SystemFactory)
    place = factory.SubFactory(PlaceFactory, system=factory.SelfAttribute("..system"))
    name = factory.Sequence(lambda n: f"Organisation {n}")
    sector = Sector.HEALTH
    kind = ""

    class Params:
        voluntary = factory.Trait(sector=Sector.VOLUNTARY, kind=VsoKind.REGISTERED_CHARITY)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name", locale="en_GB")
    role = Role.ICC
    organisation = factory.SubFactory(OrganisationFactory)
    is_superuser = factory.LazyAttribute(lambda o: o.role == Role.ADMINISTRATOR)
    password = factory.django.Password(TEST_PASSWORD)
