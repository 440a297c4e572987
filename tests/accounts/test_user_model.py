import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.models import Role, User
from accounts.services import user_create

pytestmark = pytest.mark.django_db


def test_the_database_refuses_a_vso_worker_without_an_organisation():
    with pytest.raises(IntegrityError):
        User.objects.create_user("w@example.org", "x", full_name="W", role=Role.VSO_WORKER)


def test_the_database_refuses_a_superuser_who_is_not_an_administrator(community_trust):
    with pytest.raises(IntegrityError):
        User.objects.create_user(
            "c@example.org",
            "x",
            full_name="C",
            role=Role.ICC,
            organisation=community_trust,
            is_superuser=True,
        )


def test_the_database_refuses_the_same_email_in_other_capitals(icc):
    with pytest.raises(IntegrityError):
        User.objects.create(email="IVY.CARTER@example.org", full_name="Ivy", role=Role.ICC)


def test_user_create_refuses_a_vso_lead_of_a_statutory_organisation(community_trust):
    with pytest.raises(ValidationError) as error:
        user_create(
            email="l@example.org",
            full_name="L",
            role=Role.VSO_LEAD,
            organisation=community_trust,
            password="a-long-enough-password",
        )

    assert "organisation" in error.value.message_dict
    assert not User.objects.filter(email="l@example.org").exists()


def test_user_create_makes_administrators_superusers_and_stores_email_in_lower_case(icb):
    user = user_create(
        email="New.Admin@Example.org",
        full_name="New Admin",
        role=Role.ADMINISTRATOR,
        organisation=icb,
        password="a-long-enough-password",
    )

    assert user.email == "new.admin@example.org"
    assert user.is_superuser and user.is_staff
    assert user.check_password("a-long-enough-password")


def test_only_an_active_administrator_counts_as_staff(icc, administrator):
    assert not icc.is_staff
    assert administrator.is_staff
    administrator.is_active = False
    assert not administrator.is_staff
