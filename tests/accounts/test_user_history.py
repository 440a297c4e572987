"""A person's role, organisation and details keep their history, shown in the Django admin."""

import pghistory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role, User
from core.history import history_of
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

UserEvent = User.pgh_event_model


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def admin_edit(client, user, **fields):
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "job_title": user.job_title,
        "role": user.role,
        "organisation": user.organisation_id or "",
        "is_active": "on" if user.is_active else "",
        **fields,
    }
    response = client.post(change_url(user), {k: v for k, v in data.items() if v != ""})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_role_change_in_the_admin_shows_in_that_persons_history(client, administrator, icc, icb):
    client.force_login(administrator)

    admin_edit(client, icc, role=Role.COMMISSIONER, organisation=icb.pk, job_title="Analyst")
    response = client.get(change_url(icc))

    latest = response.context["adminform"].form.instance
    assert latest.role == Role.COMMISSIONER
    entry = history_of(record=icc)[-1]
    assert entry.who == "Ada Nwosu"
    assert {change.label: (change.old, change.new) for change in entry.changes} == {
        "Role": ("ICC / referrer", "Commissioner"),
        "Organisation": ("Eastern Community Health Services", "NHS Eastern Health ICB"),
        "Job title": ("—", "Analyst"),
    }
    page = response.content.decode()
    assert "Role</span>: ICC / referrer → Commissioner" in page
    assert "Ada Nwosu" in page


def test_deactivating_someone_is_recorded_with_who_did_it(client, administrator, icc):
    client.force_login(administrator)

    admin_edit(client, icc, is_active="")

    entry = history_of(record=icc)[-1]
    assert (entry.who, entry.changes[0].label, entry.changes[0].new) == (
        "Ada Nwosu",
        "Is active",
        "No",
    )


def test_signing_in_adds_no_history(client, icc):
    before = UserEvent.objects.filter(pgh_obj=icc).count()

    response = client.post(
        reverse("login"), {"username": icc.email, "password": TEST_PASSWORD}, follow=True
    )

    assert response.wsgi_request.user == icc
    icc.refresh_from_db()
    assert icc.last_login is not None
    assert UserEvent.objects.filter(pgh_obj=icc).count() == before


def test_a_password_change_is_neither_recorded_nor_shown(client, administrator, icc):
    before = UserEvent.objects.filter(pgh_obj=icc).count()
    client.force_login(icc)
    own = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-new-long-password-9",
            "new_password2": "a-new-long-password-9",
        },
    )
    client.force_login(administrator)
    by_admin = client.post(
        reverse("admin:auth_user_password_change", args=[icc.pk]),
        {"password1": "another-long-password-7", "password2": "another-long-password-7"},
    )
    page = client.get(change_url(icc)).content.decode()

    assert own.status_code == by_admin.status_code == 302
    icc.refresh_from_db()
    assert icc.check_password("another-long-password-7")
    assert UserEvent.objects.filter(pgh_obj=icc).count() == before
    held = {field.name for field in UserEvent._meta.fields}
    assert not {"password", "last_login"} & held
    assert icc.password not in page


def test_another_systems_administrator_sees_none_of_it(client, western_people, icc):
    client.force_login(western_people[Role.ADMINISTRATOR])

    response = client.get(change_url(icc), follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert "Ivy Carter" not in response.content.decode()


def test_the_admin_page_takes_the_same_number_of_queries_however_many_changes(
    client, administrator, icc
):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(change_url(icc))
        assert response.status_code == 200
        return len(captured)

    def rename(n):
        with pghistory.context(user=administrator.pk):
            User.objects.filter(pk=icc.pk).update(job_title=f"Coordinator grade {n}")

    client.force_login(administrator)
    client.get(change_url(icc))  # starts the idle clock
    rename(1)
    one = queries_for_page()
    for n in range(2, 22):
        rename(n)
    twenty = queries_for_page()

    assert len(history_of(record=icc)) == 22
    assert twenty == one
