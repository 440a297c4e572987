import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from commissioning.models import Organisation, Place, Sector, System, VsoKind

pytestmark = pytest.mark.django_db


def test_it_creates_eastern_health_with_three_places_and_every_sector():
    call_command("seed_demo", verbosity=0)

    system = System.objects.get(name="Eastern Health")
    assert Place.objects.filter(system=system).count() == 3
    assert set(Organisation.objects.values_list("sector", flat=True)) == set(Sector.values)
    kinds = set(Organisation.objects.values_list("kind", flat=True))
    assert {VsoKind.REGISTERED_CHARITY, VsoKind.HYPER_LOCAL_GROUP, VsoKind.PARISH_COUNCIL} <= kinds
    assert Organisation.objects.filter(name__icontains="Red Cross").exists()


def test_it_creates_a_user_per_role_who_can_sign_in_with_the_documented_password(client):
    call_command("seed_demo", verbosity=0)

    # Two VSO leads: the Red Cross's, and the wellbeing co-ordination service's.
    assert sorted(User.objects.values_list("role", flat=True)) == sorted(
        [*Role.values, Role.VSO_LEAD]
    )
    for user in User.objects.all():
        response = client.post(
            "/sign-in/", {"username": user.email, "password": "vsocare-demo"}, follow=True
        )
        assert response.wsgi_request.user == user
        client.post("/sign-out/")


def test_a_second_run_adds_nothing():
    call_command("seed_demo", verbosity=0)
    counts = (User.objects.count(), Organisation.objects.count(), Place.objects.count())

    call_command("seed_demo", verbosity=0)

    assert (User.objects.count(), Organisation.objects.count(), Place.objects.count()) == counts


def test_it_refuses_to_seed_known_passwords_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo", verbosity=0)

    assert not User.objects.exists()
