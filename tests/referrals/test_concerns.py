import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from core.conflicts import EditConflict
from referrals.models import Concern, ConcernSeverity
from referrals.selectors_concerns import concerns_visible_to
from referrals.services_concerns import (
    concern_acknowledge,
    concern_raise,
    concern_resolve,
)
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def icc_colleague(community_trust):
    return UserFactory(full_name="Ian Cole", role=Role.ICC, organisation=community_trust)


def raise_concern(referral, user, addressed_to, severity="high", **extra):
    return concern_raise(
        referral=referral,
        user=user,
        addressed_to=addressed_to,
        severity=severity,
        description=extra.pop("description", "She has waited 19 days and cannot wash alone."),
        **extra,
    )


def acknowledge(client, concern, *, version=None, follow=False):
    data = {"version": concern.version if version is None else version}
    return client.post(reverse("concern_acknowledge", args=[concern.pk]), data, follow=follow)


def resolve(client, concern, *, resolution="Visit booked for today.", version=None, follow=False):
    data = {"version": concern.version if version is None else version, "resolution": resolution}
    return client.post(reverse("concern_resolve", args=[concern.pk]), data, follow=follow)


def table_of(response) -> str:
    return response.content.decode().split("<tbody>")[1].split("</tbody>")[0]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- raising -------------------------------------------------------------------------------


def test_a_vso_worker_raises_a_concern_to_the_service_the_patient_is_waiting_for(
    client, red_cross_worker, cover, social_care
):
    client.force_login(red_cross_worker)

    response = client.post(
        reverse("concern_raise", args=[cover.pk]),
        {
            "severity": "critical",
            "addressed_to": social_care.pk,
            "description": "19 days without the urgent visit; she fell last night.",
        },
    )

    concern = Concern.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("referral_detail", args=[cover.pk]) + "#concerns"
    assert (concern.raised_by, concern.raised_by_organisation) == (
        red_cross_worker,
        red_cross_worker.organisation,
    )
    assert concern.addressed_to == social_care
    assert concern.raised_at == NOW
    assert concern.acknowledge_by == NOW + datetime.timedelta(hours=4)
    assert concern.created_by == red_cross_worker


@pytest.mark.parametrize(
    ("severity", "deadline"),
    [
        # Five working days from a Monday: the next Monday, at the same time.
        (ConcernSeverity.LOW, datetime.timedelta(days=7)),
        (ConcernSeverity.MODERATE, datetime.timedelta(days=2)),
        (ConcernSeverity.HIGH, datetime.timedelta(hours=24)),
        (ConcernSeverity.CRITICAL, datetime.timedelta(hours=4)),
    ],
)
def test_the_acknowledgement_deadline_is_set_by_the_severity(
    cover, red_cross_lead, social_care, severity, deadline
):
    concern = raise_concern(cover, red_cross_lead, social_care, severity=severity)

    assert concern.acknowledge_by - concern.raised_at == deadline


def test_only_organisations_involved_in_the_referral_other_than_ones_own_are_offered(
    client, red_cross_worker, icc, cover, social_care, community_trust, red_cross
):
    hospital = OrganisationFactory(system=social_care.system, name="Eastern Hospitals")
    cover.statutory_declined_by = hospital
    cover.statutory_decline_reason = "Medically fit for discharge."
    cover.save()

    offered = {}
    for person in (red_cross_worker, icc):
        client.force_login(person)
        form = client.get(reverse("referral_detail", args=[cover.pk])).context["concern_form"]
        offered[person.role] = {value for value, _ in form.fields["addressed_to"].choices if value}

    assert offered[Role.VSO_WORKER] == {community_trust.pk, social_care.pk, hospital.pk}
    assert offered[Role.ICC] == {red_cross.pk, social_care.pk, hospital.pk}


def test_a_concern_addressed_to_an_organisation_outside_the_referral_is_refused(
    client, red_cross_worker, cover, age_concern
):
    client.force_login(red_cross_worker)

    response = client.post(
        reverse("concern_raise", args=[cover.pk]),
        {"severity": "high", "addressed_to": age_concern.pk, "description": "Worried."},
    )

    assert response.status_code == 400
    assert "addressed_to" in response.context["concern_form"].errors
    assert not Concern.objects.exists()
    with pytest.raises(ValidationError) as refused:
        raise_concern(cover, red_cross_worker, age_concern)
    assert "addressed_to" in refused.value.message_dict


def test_bad_input_shows_the_referrals_page_again_with_the_form_open_and_each_error_in_place(
    client, red_cross_worker, cover
):
    client.force_login(red_cross_worker)

    response = client.post(
        reverse("concern_raise", args=[cover.pk]),
        {"severity": "high", "addressed_to": "", "description": "  "},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert response.templates[0].name == "referrals/referral_detail.html"
    assert set(response.context["concern_form"].errors) == {"addressed_to", "description"}
    assert "Choose the organisation that must answer it." in page
    assert "Say what the concern is." in page
    # Open, with the severity that was chosen still chosen.
    assert '<details class="card card-body" open>' in page
    assert '<option value="high" selected>' in page
    assert '<a href="#id_description">Say what the concern is.</a>' in page
    assert not Concern.objects.exists()


def test_the_concern_forms_own_address_leads_back_to_the_referrals_page(
    client, red_cross_worker, cover
):
    client.force_login(red_cross_worker)

    response = client.get(reverse("concern_raise", args=[cover.pk]))

    assert response.status_code == 302
    assert response.url == reverse("referral_detail", args=[cover.pk]) + "#concerns"


@pytest.mark.parametrize(
    ("person", "status"),
    [
        ("red_cross_lead", 302),
        ("icc", 302),
        ("commissioner", 403),
        ("other_lead", 404),
        ("administrator", 404),
    ],
)
def test_who_may_raise_a_concern(client, request, cover, social_care, person, status):
    client.force_login(request.getfixturevalue(person))

    response = client.post(
        reverse("concern_raise", args=[cover.pk]),
        {"severity": "high", "addressed_to": social_care.pk, "description": "Still waiting."},
    )

    assert response.status_code == status
    assert Concern.objects.exists() == (status == 302)


# --- acknowledging -------------------------------------------------------------------------


def test_the_organisation_addressed_acknowledges_the_concern(
    client, red_cross_worker, icc, cover, community_trust
):
    concern = raise_concern(cover, red_cross_worker, community_trust)
    client.force_login(icc)

    response = acknowledge(client, concern)

    concern.refresh_from_db()
    assert response.status_code == 302
    assert (concern.acknowledged_by, concern.acknowledged_at) == (icc, NOW)
    assert (concern.version, concern.updated_by) == (2, icc)


def test_the_referrers_team_acknowledges_for_a_statutory_service(
    client, red_cross_worker, icc, cover, social_care
):
    concern = raise_concern(cover, red_cross_worker, social_care)
    client.force_login(icc)

    page = client.get(reverse("referral_detail", args=[cover.pk])).content.decode()
    acknowledge(client, concern)

    concern.refresh_from_db()
    assert "Acknowledge for Eastshire Adult Social Care" in page
    assert concern.acknowledged_by == icc


def test_a_voluntary_organisation_answers_for_itself(
    client, icc, red_cross_lead, cover, red_cross, icc_colleague
):
    concern = raise_concern(cover, icc, red_cross)
    client.force_login(icc_colleague)

    refused = acknowledge(client, concern)
    client.force_login(red_cross_lead)
    acknowledge(client, concern)

    concern.refresh_from_db()
    assert refused.status_code == 403
    assert concern.acknowledged_by == red_cross_lead


def test_nobody_acknowledges_a_concern_they_raised_themselves(
    client, icc, icc_colleague, cover, social_care
):
    concern = raise_concern(cover, icc, social_care)
    client.force_login(icc)

    refused = acknowledge(client, concern)
    client.force_login(icc_colleague)
    acknowledge(client, concern)

    concern.refresh_from_db()
    assert refused.status_code == 403
    assert concern.acknowledged_by == icc_colleague


@pytest.mark.parametrize(
    ("person", "status"),
    [
        # Sees the concern through the referral, but neither raised it nor is addressed.
        ("red_cross_lead", 403),
        ("commissioner", 403),
        ("other_lead", 404),
        ("administrator", 404),
    ],
)
def test_people_who_may_not_answer_are_refused_and_nothing_changes(
    client, request, icc, cover, social_care, person, status
):
    concern = raise_concern(cover, icc, social_care)
    client.force_login(request.getfixturevalue(person))

    acknowledged = acknowledge(client, concern)
    resolved = resolve(client, concern)

    concern.refresh_from_db()
    assert (acknowledged.status_code, resolved.status_code) == (status, status)
    assert (concern.acknowledged_at, concern.resolved_at, concern.version) == (None, None, 1)


def test_acknowledging_twice_is_refused_with_a_clear_message(
    client, red_cross_worker, icc, icc_colleague, cover, community_trust
):
    concern = raise_concern(cover, red_cross_worker, community_trust)
    concern = concern_acknowledge(concern=concern, user=icc, expected_version=1)
    client.force_login(icc_colleague)

    response = acknowledge(client, concern, follow=True)

    concern.refresh_from_db()
    assert messages_of(response) == [
        f"The concern on {cover.reference} was already acknowledged by Ivy Carter on "
        "23 Nov 2026 at 10:00."
    ]
    assert (concern.acknowledged_by, concern.version) == (icc, 2)


# --- resolving -----------------------------------------------------------------------------


def test_a_resolution_must_be_written(client, red_cross_worker, icc, cover, community_trust):
    concern = raise_concern(cover, red_cross_worker, community_trust)
    client.force_login(icc)

    response = client.post(
        reverse("concern_resolve", args=[concern.pk]),
        {"version": 1, "resolution": "   "},
        follow=True,
    )

    concern.refresh_from_db()
    assert messages_of(response) == ["Write how the concern was resolved."]
    assert (concern.resolved_at, concern.version) == (None, 1)


def test_resolving_an_unacknowledged_concern_acknowledges_it_by_the_same_person_at_once(
    client, red_cross_worker, red_cross_lead, cover, social_care, frozen_clock
):
    concern = raise_concern(cover, red_cross_worker, social_care)
    frozen_clock.shift(datetime.timedelta(hours=30))
    client.force_login(red_cross_lead)  # the raiser's organisation may resolve its own concern

    resolve(client, concern, resolution="Package of care started; volunteer stood down.")

    concern.refresh_from_db()
    later = NOW + datetime.timedelta(hours=30)
    assert (concern.resolved_by, concern.resolved_at) == (red_cross_lead, later)
    assert (concern.acknowledged_by, concern.acknowledged_at) == (red_cross_lead, later)
    assert concern.resolution == "Package of care started; volunteer stood down."


def test_resolving_keeps_the_earlier_acknowledgement(
    red_cross_worker, icc, cover, community_trust, frozen_clock
):
    concern = raise_concern(cover, red_cross_worker, community_trust)
    concern = concern_acknowledge(concern=concern, user=icc, expected_version=1)
    frozen_clock.shift(datetime.timedelta(days=2))

    resolved = concern_resolve(
        concern=concern, user=red_cross_worker, expected_version=2, resolution="Sorted."
    )

    assert (resolved.acknowledged_by, resolved.acknowledged_at) == (icc, NOW)
    assert resolved.resolved_by == red_cross_worker
    assert resolved.version == 3


def test_resolving_a_resolved_concern_is_refused(
    client, red_cross_worker, icc, cover, community_trust
):
    concern = raise_concern(cover, red_cross_worker, community_trust)
    concern = concern_resolve(
        concern=concern, user=icc, expected_version=1, resolution="Visit booked."
    )
    client.force_login(red_cross_worker)

    response = resolve(client, concern, resolution="Something else", version=2, follow=True)

    concern.refresh_from_db()
    assert messages_of(response) == [
        f"The concern on {cover.reference} was already resolved by Ivy Carter on "
        "23 Nov 2026 at 10:00."
    ]
    assert (concern.resolution, concern.version) == ("Visit booked.", 2)


# --- two people at once ---------------------------------------------------------------------


def test_a_stale_change_is_refused_naming_who_changed_it_and_when(
    client, red_cross_worker, icc, cover, community_trust, frozen_clock
):
    concern = raise_concern(cover, red_cross_worker, community_trust)
    frozen_clock.shift(datetime.timedelta(minutes=25))
    concern_acknowledge(concern=concern, user=icc, expected_version=1)
    client.force_login(red_cross_worker)  # still looking at version 1

    response = client.post(
        reverse("concern_resolve", args=[concern.pk]),
        {"version": 1, "resolution": "No longer needed."},
        follow=True,
    )

    concern.refresh_from_db()
    assert messages_of(response) == [
        f"The concern on {cover.reference} was changed by Ivy Carter on 23 Nov 2026 at 10:25 "
        "while you had it open; it is now acknowledged by Ivy Carter. Nothing you did was saved: "
        "look again before you resolve it."
    ]
    assert (concern.resolved_at, concern.resolution, concern.version) == (None, "", 2)


def test_of_two_acknowledgements_at_once_only_the_first_is_saved(
    red_cross_worker, icc, icc_colleague, cover, community_trust
):
    concern = raise_concern(cover, red_cross_worker, community_trust)

    concern_acknowledge(concern=concern, user=icc, expected_version=1)
    with pytest.raises(EditConflict, match="changed by Ivy Carter"):
        concern_acknowledge(concern=concern, user=icc_colleague, expected_version=1)

    concern.refresh_from_db()
    assert concern.acknowledged_by == icc


# --- who sees what --------------------------------------------------------------------------


def test_another_vso_sees_none_of_the_red_cross_concerns(
    client, red_cross_worker, other_lead, cover, social_care, community_trust
):
    raise_concern(cover, red_cross_worker, social_care)
    raise_concern(cover, red_cross_worker, community_trust)
    client.force_login(other_lead)

    response = client.get(reverse("concern_list"))

    assert response.context["page"].count == 0
    assert not concerns_visible_to(other_lead).exists()


def test_the_service_addressed_sees_the_concern_but_not_the_voluntary_referral(
    client, red_cross_worker, social_care_officer, cover, social_care
):
    concern = raise_concern(cover, red_cross_worker, social_care)
    client.force_login(social_care_officer)

    listed = client.get(reverse("concern_list"))
    referral_page = client.get(reverse("referral_detail", args=[cover.pk]))
    acknowledge(client, concern)

    concern.refresh_from_db()
    assert [c.pk for c in listed.context["page"]] == [concern.pk]
    assert reverse("referral_detail", args=[cover.pk]) not in listed.content.decode()
    assert referral_page.status_code == 404
    assert concern.acknowledged_by == social_care_officer


def test_administrators_see_no_concerns(
    client, red_cross_worker, administrator, cover, social_care
):
    raise_concern(cover, red_cross_worker, social_care)
    client.force_login(administrator)

    assert not concerns_visible_to(administrator).exists()
    assert client.get(reverse("concern_list")).status_code == 403


def test_the_commissioner_sees_every_concern_in_the_system_but_cannot_answer(
    client, red_cross_worker, commissioner, cover, social_care
):
    concern = raise_concern(cover, red_cross_worker, social_care)
    client.force_login(commissioner)

    listed = client.get(reverse("concern_list")).content.decode()
    detail = client.get(reverse("referral_detail", args=[cover.pk]))

    for page in (listed, detail.content.decode()):
        assert concern.description in page
        assert reverse("concern_acknowledge", args=[concern.pk]) not in page
        assert reverse("concern_resolve", args=[concern.pk]) not in page
    assert detail.context["concern_form"] is None


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.ICC, True),
        (Role.VSO_LEAD, True),
        (Role.VSO_WORKER, True),
        (Role.COMMISSIONER, True),
        (Role.ADMINISTRATOR, False),
    ],
)
def test_the_concerns_list_is_in_the_navigation_of_those_who_use_it(
    client, user_for_role, role, shown
):
    client.force_login(user_for_role(role))

    response = client.get(reverse("home"), follow=True)

    assert ("Concerns" in [item.label for item in response.context["nav_items"]]) == shown


# --- the list -------------------------------------------------------------------------------


@pytest.fixture
def four_concerns(cover, red_cross_worker, icc, community_trust, social_care, frozen_clock):
    """Raised two days ago: one overdue, one acknowledged, one resolved; and one raised now,
    not yet due."""
    frozen_clock.move_to(NOW - datetime.timedelta(days=2))
    overdue = raise_concern(cover, red_cross_worker, social_care, description="Overdue one")
    acknowledged = raise_concern(cover, red_cross_worker, community_trust, description="Heard")
    concern_acknowledge(concern=acknowledged, user=icc, expected_version=1)
    resolved = raise_concern(cover, red_cross_worker, community_trust, description="Done")
    concern_resolve(concern=resolved, user=icc, expected_version=1, resolution="Visited.")
    frozen_clock.move_to(NOW)
    awaiting = raise_concern(
        cover, red_cross_worker, social_care, severity="low", description="Not yet due"
    )
    return {"overdue": overdue, "acknowledged": acknowledged, "resolved": resolved,
            "awaiting": awaiting}  # fmt: skip


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("all", ["overdue", "awaiting", "acknowledged", "resolved"]),
        ("", ["overdue", "awaiting", "acknowledged", "resolved"]),
        ("open", ["overdue", "awaiting", "acknowledged"]),
        ("awaiting", ["overdue", "awaiting"]),
        ("overdue", ["overdue"]),
        ("resolved", ["resolved"]),
    ],
)
def test_the_list_filters_and_puts_open_and_overdue_concerns_first(
    client, icc, four_concerns, state, expected
):
    client.force_login(icc)

    response = client.get(reverse("concern_list"), {"state": state})

    assert [c.pk for c in response.context["page"]] == [four_concerns[n].pk for n in expected]


def test_an_unacknowledged_concern_is_marked_overdue_in_words_once_its_deadline_passes(
    client, icc, red_cross_worker, cover, social_care, frozen_clock
):
    raise_concern(cover, red_cross_worker, social_care, severity="critical")
    client.force_login(icc)

    before = table_of(client.get(reverse("concern_list")))
    detail_before = client.get(reverse("referral_detail", args=[cover.pk])).content.decode()
    frozen_clock.shift(datetime.timedelta(hours=4, minutes=1))
    client.force_login(icc)  # an idle session ends after 30 minutes
    after = table_of(client.get(reverse("concern_list")))
    detail_after = client.get(reverse("referral_detail", args=[cover.pk])).content.decode()

    assert "Awaiting acknowledgement" in before
    assert "Overdue: not acknowledged" not in before + detail_before
    assert 'class="table-danger"' not in before
    assert "Overdue: not acknowledged" in after
    assert 'class="table-danger"' in after
    assert "overdue: not acknowledged by the deadline" in detail_after


def test_a_late_acknowledgement_is_shown_as_late(
    client, icc, red_cross_worker, cover, community_trust, frozen_clock
):
    concern = raise_concern(cover, red_cross_worker, community_trust, severity="critical")
    frozen_clock.shift(datetime.timedelta(hours=6))
    concern_acknowledge(concern=concern, user=icc, expected_version=1)
    client.force_login(red_cross_worker)

    page = client.get(reverse("referral_detail", args=[cover.pk])).content.decode()

    assert "late, after the deadline" in page


def test_the_list_takes_the_same_number_of_queries_however_many_concerns(
    client,
    icc,
    red_cross_worker,
    cover,
    social_care,
    community_trust,
    django_assert_max_num_queries,
):
    def queries_for_list() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("concern_list"))
        return len(captured)

    client.force_login(icc)
    raise_concern(cover, red_cross_worker, social_care)
    few = queries_for_list()
    for n in range(30):
        addressed_to = social_care if n % 2 else community_trust
        concern = raise_concern(cover, red_cross_worker, addressed_to)
        if n % 3 == 0:
            concern_acknowledge(concern=concern, user=icc, expected_version=1)

    with django_assert_max_num_queries(few):
        response = client.get(reverse("concern_list"))

    assert len(response.context["page"]) == 25
