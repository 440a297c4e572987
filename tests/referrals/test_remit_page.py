import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import Role
from commissioning.codes import SpecificationStatus, Urgency
from commissioning.remit import RemitClause
from referrals.models import ReferralStatus, RemitLimitMark
from referrals.reports.breaches import remit_breaches
from referrals.services_remit import (
    remit_clause_text,
    remit_clauses_for,
    remit_mark_create,
    remit_mark_withdraw,
)
from tests.factories import (
    PatientFactory,
    ReferralFactory,
    ServiceFactory,
    SpecificationFactory,
    SystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = "2026-11-23 10:00 +0000"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def on(day: int, month: int = 11, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=LONDON)


@pytest.fixture
def spec(home_from_hospital):
    return home_from_hospital.specifications.get()


@pytest.fixture
def emergency(home_from_hospital, patient, icc):
    """Above the highest urgency the Home from Hospital specification accepts (urgent)."""
    return ReferralFactory(
        service=home_from_hospital, patient=patient, referrer=icc,
        urgency=Urgency.EMERGENCY, referred_at=on(10), out_of_remit=True,
        override_reason="Nobody else could go today.",
    )  # fmt: skip


def mark_url(referral) -> str:
    return reverse("referral_remit_mark", args=[referral.pk])


def withdraw_url(referral) -> str:
    return reverse("referral_remit_mark_withdraw", args=[referral.pk])


# --- Quoting the clauses --------------------------------------------------------------------


def test_each_clause_is_quoted_as_a_person_reads_it(home_from_hospital):
    spec = SpecificationFactory(
        service=home_from_hospital, version=9, status=SpecificationStatus.DRAFT,
        eligibility="Adults leaving hospital.", not_eligible_for_social_care=True,
        min_age=18, max_age=65, max_urgency=Urgency.URGENT,
        activities_excluded=["personal_care", "clinical_task"],
        monthly_capacity=40, max_episode_weeks=12, max_interim_cover_days=14,
    )  # fmt: skip

    assert remit_clauses_for(specification=spec) == [
        ("eligibility", "Eligibility: Adults leaving hospital; only people not eligible for "
                        "social care; aged 18 to 65"),
        ("excluded_activity", "Activities excluded: Personal care, Clinical task"),
        ("urgency", "Highest urgency accepted: Urgent"),
        ("capacity", "Monthly capacity: 40 referrals"),
        ("episode_length", "Longest episode: 12 weeks"),
        ("interim_cover", "Longest interim cover for a waiting statutory referral: 14 days"),
    ]  # fmt: skip


def test_only_the_clauses_a_specification_sets_are_offered(home_from_hospital):
    spec = SpecificationFactory(
        service=home_from_hospital, version=9, status=SpecificationStatus.DRAFT,
        eligibility="", min_age=None, activities_excluded=[], monthly_capacity=None,
        max_episode_weeks=None, max_interim_cover_days=None,
    )  # fmt: skip

    assert [code for code, _ in remit_clauses_for(specification=spec)] == ["urgency"]
    with pytest.raises(ValidationError) as error:
        remit_clause_text(specification=spec, clause=RemitClause.CAPACITY)
    assert "sets nothing under monthly capacity" in error.value.message_dict["clause"][0]


# --- The remit page -------------------------------------------------------------------------


def test_the_lead_sees_capacity_urgency_and_breaches_of_their_own_services_only(
    client, red_cross_lead, home_from_hospital, age_concern, icc, emergency
):
    ReferralFactory.create_batch(3, service=home_from_hospital, referrer=icc, referred_at=on(2))
    ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(3),
        status=ReferralStatus.DECLINED, decline_reason="Full.",
    )  # fmt: skip
    ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(20, month=10))
    befriending = ServiceFactory(organisation=age_concern, name="Befriending Line")
    SpecificationFactory(service=befriending, max_urgency=Urgency.ROUTINE)
    ReferralFactory(service=befriending, referrer=icc, referred_at=on(4))
    client.force_login(red_cross_lead)

    response = client.get(reverse("remit_page"))

    page = response.context["page"]
    (row,) = page.services
    assert row.service == home_from_hospital
    assert (row.used, row.capacity, row.percent_used) == (4, 40, 10)  # the declined takes none
    assert {c.urgency: (c.count, c.above_limit) for c in row.urgencies} == {
        "routine": (0, False), "soon": (4, False), "urgent": (0, False), "emergency": (1, True),
    }  # fmt: skip
    (group,) = page.breaches
    assert (group.service, group.rule, group.referrals) == (
        "Home from Hospital",
        "urgency",
        [emergency],
    )
    assert group.overridden == {emergency.pk}
    html = response.content.decode()
    assert "4 of 40 referrals (10%)" in html
    assert "Urgency above the highest accepted (1)" in html
    assert mark_url(emergency) in html
    assert "Befriending Line" not in html


def test_a_breach_marked_at_the_limit_says_so_and_the_others_offer_the_mark(
    client, red_cross_lead, home_from_hospital, patient, icc, emergency
):
    unmarked = ReferralFactory(
        service=home_from_hospital, patient=patient, referrer=icc,
        urgency=Urgency.EMERGENCY, referred_at=on(11), out_of_remit=True,
        override_reason="The ward asked for today.",
    )  # fmt: skip
    remit_mark_create(referral=emergency, user=red_cross_lead, clause="urgency")
    client.force_login(red_cross_lead)

    html = client.get(reverse("remit_page")).content.decode()

    assert "Marked: highest urgency accepted" in html
    assert f'href="{mark_url(emergency)}"' not in html
    assert f'href="{mark_url(unmarked)}"' in html
    assert html.count("Marked: ") == 1


def test_another_lead_sees_none_of_the_red_cross_and_cannot_mark_its_referrals(
    client, other_lead, emergency
):
    client.force_login(other_lead)

    page = client.get(reverse("remit_page")).context["page"]

    assert page.services == [] and page.breaches == [] and page.marks == []
    assert client.get(mark_url(emergency)).status_code == 404
    assert client.post(mark_url(emergency), {"clause": "urgency"}).status_code == 404
    assert client.post(withdraw_url(emergency)).status_code == 404
    assert not RemitLimitMark.objects.exists()


@pytest.mark.parametrize(
    ("role", "mark_status"),
    [
        (Role.VSO_WORKER, 403),
        (Role.ICC, 403),  # the referrer sees the referral, so it is not hidden from them
        (Role.COMMISSIONER, 403),
        (Role.ADMINISTRATOR, 404),  # administrators see no patients' referrals at all
    ],
)
def test_only_the_lead_uses_the_remit_page_and_marks(
    client, user_for_role, emergency, role, mark_status
):
    client.force_login(user_for_role(role))

    assert client.get(reverse("remit_page")).status_code == 403
    assert client.get(mark_url(emergency)).status_code == mark_status
    assert client.post(mark_url(emergency), {"clause": "urgency"}).status_code == mark_status
    assert not RemitLimitMark.objects.exists()


def test_our_remit_is_in_the_lead_navigation_only(client, red_cross_lead, red_cross_worker):
    for person, shown in ((red_cross_lead, True), (red_cross_worker, False)):
        client.force_login(person)
        labels = [
            item.label for item in client.get(reverse("home"), follow=True).context["nav_items"]
        ]
        assert ("Our remit" in labels) is shown


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "Enter a month as YYYY-MM"),
        ("November", "Enter a month as YYYY-MM"),
        ("0000-01", "Enter a month as YYYY-MM"),
        ("", "Enter a month as YYYY-MM, such as 2026-11."),
        ("2026-12", "Choose November 2026 or an earlier month"),
    ],
)
def test_a_bad_month_is_a_form_error_not_a_crash(client, red_cross_lead, emergency, month, message):
    client.force_login(red_cross_lead)

    response = client.get(reverse("remit_page"), {"month": month})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "page" not in response.context


def test_an_earlier_month_shows_that_months_figures(
    client, red_cross_lead, home_from_hospital, icc
):
    ReferralFactory.create_batch(
        2, service=home_from_hospital, referrer=icc, referred_at=on(20, 10)
    )
    ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(2))
    client.force_login(red_cross_lead)

    october = client.get(reverse("remit_page"), {"month": "2026-10"}).context["page"]
    november = client.get(reverse("remit_page")).context["page"]

    assert october.services[0].used == 2 and october.reference_day == datetime.date(2026, 10, 31)
    assert november.services[0].used == 1 and november.reference_day == datetime.date(2026, 11, 23)


def test_capacity_beyond_the_limit_is_said_in_words_and_each_referral_beyond_it_is_listed(
    client, red_cross_lead, home_from_hospital, spec, icc
):
    spec.monthly_capacity = 2
    spec.save()
    referrals = [
        ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(day))
        for day in (2, 3, 4, 5)
    ]
    client.force_login(red_cross_lead)

    response = client.get(reverse("remit_page"))

    assert (
        "4 of 2 referrals (200%): <strong>over capacity by 2</strong>" in response.content.decode()
    )
    (group,) = response.context["page"].breaches
    assert group.rule == "capacity" and group.referrals == referrals[2:]


def test_computing_the_page_takes_a_fixed_number_of_queries_however_many_services_and_referrals(
    client, red_cross, red_cross_lead, home_from_hospital, icc, django_assert_max_num_queries
):
    # Nothing is kept before the first request, and the writes drop what it kept, so both
    # requests compute the page: three queries every page makes (session, user, notifications)
    # and seven of its own; the first after signing in also renews the session's idle clock
    # (three statements). A kept page makes none of its own (test_remit_cache.py).
    ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(2))
    client.force_login(red_cross_lead)
    with django_assert_max_num_queries(13):
        client.get(reverse("remit_page"))

    for n in range(4):
        service = ServiceFactory(organisation=red_cross, name=f"Service {n}")
        SpecificationFactory(service=service, monthly_capacity=3, max_urgency=Urgency.SOON)
        for day in range(1, 9):
            referral = ReferralFactory(
                service=service, referrer=icc, referred_at=on(day), urgency=Urgency.URGENT,
                patient=PatientFactory(),
            )  # fmt: skip
            if day % 3 == 0:
                remit_mark_create(referral=referral, user=red_cross_lead, clause="urgency")

    with django_assert_max_num_queries(10):
        response = client.get(reverse("remit_page"))

    page = response.context["page"]
    assert len(page.services) == 5 and len(page.marks) == 8
    assert sum(len(group.referrals) for group in page.breaches) == 4 * (8 + 5)


# --- Marking and taking back ----------------------------------------------------------------


def test_the_lead_marks_a_referral_quoting_the_clause_and_the_report_counts_it(
    client, red_cross_lead, emergency, spec
):
    client.force_login(red_cross_lead)
    form = client.get(mark_url(emergency)).content.decode()

    response = client.post(
        mark_url(emergency),
        {"clause": "urgency", "note": "Our volunteer is at the limit of their role."},
        follow=True,
    )

    assert "Highest urgency accepted: Urgent" in form and "Monthly capacity: 40 referrals" in form
    assert response.redirect_chain == [(reverse("referral_detail", args=[emergency.pk]), 302)]
    assert "is marked at the limit of your remit" in response.content.decode()
    mark = RemitLimitMark.objects.get(referral=emergency)
    assert (mark.specification, mark.clause, mark.clause_text) == (
        spec, "urgency", "Highest urgency accepted: Urgent",
    )  # fmt: skip
    assert mark.marked_by == mark.created_by == mark.updated_by == red_cross_lead
    report = remit_breaches(
        system=SystemFactory(),
        date_from=datetime.date(2026, 11, 1),
        date_to=datetime.date(2026, 11, 30),
    )
    assert report["marked_at_limit"][0]["referral_ids"] == [emergency.pk]


@pytest.mark.parametrize(
    ("post", "field_error"),
    [
        ({"clause": "astrology"}, "Choose one of the clauses listed."),
        ({}, "Choose the clause of the specification this referral takes you to the limit of."),
        ({"clause": "urgency", "note": "x" * 2001}, "Keep the note to 2000 characters."),
    ],
)
def test_bad_input_is_shown_at_the_field_and_nothing_is_marked(
    client, red_cross_lead, emergency, post, field_error
):
    client.force_login(red_cross_lead)

    response = client.post(mark_url(emergency), post)

    assert response.status_code == 200
    assert field_error in response.content.decode()
    assert not RemitLimitMark.objects.exists()


def test_a_clause_the_specification_does_not_set_is_refused(
    client, red_cross_lead, emergency, spec
):
    spec.max_episode_weeks = None
    spec.save()
    client.force_login(red_cross_lead)

    response = client.post(mark_url(emergency), {"clause": "episode_length"})

    assert "Choose one of the clauses listed." in response.content.decode()
    with pytest.raises(ValidationError) as error:
        remit_mark_create(referral=emergency, user=red_cross_lead, clause="episode_length")
    assert "clause" in error.value.message_dict
    assert not RemitLimitMark.objects.exists()


def test_marking_twice_is_refused_with_a_message(client, red_cross_lead, emergency):
    client.force_login(red_cross_lead)
    client.post(mark_url(emergency), {"clause": "urgency"})

    again = client.post(mark_url(emergency), {"clause": "capacity"})
    form = client.get(mark_url(emergency), follow=True)

    assert again.status_code == 200
    assert "is already marked at the limit of remit, by Vera Lewis on 23 November 2026" in (
        again.content.decode()
    )
    assert "is already marked at the limit of remit." in form.content.decode()
    assert RemitLimitMark.objects.get().clause == "urgency"


def test_a_referral_with_no_specification_in_force_cannot_be_marked(
    client, red_cross_lead, home_from_hospital, icc
):
    before_the_contract = ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(15, month=3)
    )
    client.force_login(red_cross_lead)

    response = client.get(mark_url(before_the_contract), follow=True)

    assert "has no specification to quote" in response.content.decode()
    with pytest.raises(ValidationError) as error:
        remit_mark_create(referral=before_the_contract, user=red_cross_lead, clause="urgency")
    assert "No specification of Home from Hospital was in force" in str(error.value)


def test_the_service_refuses_anyone_but_a_lead_of_the_organisation(
    emergency, red_cross_worker, other_lead, red_cross_lead
):
    for person in (red_cross_worker, other_lead):
        with pytest.raises(PermissionDenied):
            remit_mark_create(referral=emergency, user=person, clause="urgency")
    mark = remit_mark_create(referral=emergency, user=red_cross_lead, clause="urgency")
    with pytest.raises(PermissionDenied):
        remit_mark_withdraw(mark=mark, user=red_cross_worker)
    assert RemitLimitMark.objects.count() == 1


def test_the_quote_stays_as_stored_after_a_newer_version_is_published(
    client, red_cross_lead, emergency, spec, home_from_hospital, icc
):
    remit_mark_create(referral=emergency, user=red_cross_lead, clause="urgency")
    spec.status = SpecificationStatus.RETIRED
    spec.save()
    SpecificationFactory(
        service=home_from_hospital, framework=spec.framework, version=2,
        max_urgency=Urgency.SOON, starts_on=datetime.date(2026, 4, 1),
    )  # fmt: skip
    later = ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(12), urgency=Urgency.URGENT
    )
    client.force_login(icc)

    page = client.get(reverse("referral_detail", args=[emergency.pk])).content.decode()
    newer = remit_mark_create(referral=later, user=red_cross_lead, clause="urgency")

    assert "quoting: “Highest urgency accepted: Urgent”" in page
    assert "From version 1 of the specification" in page
    assert newer.clause_text == "Highest urgency accepted: Soon"  # the new words, for new marks


def test_a_lead_takes_a_mark_back_after_confirming_and_history_keeps_it(
    client, red_cross, red_cross_lead, emergency
):
    remit_mark_create(referral=emergency, user=red_cross_lead, clause="urgency", note="Too much.")
    deputy = UserFactory(full_name="Dev Shah", role=Role.VSO_LEAD, organisation=red_cross)
    client.force_login(deputy)

    confirm = client.get(withdraw_url(emergency))
    response = client.post(withdraw_url(emergency), follow=True)

    assert "Yes, take the mark back" in confirm.content.decode()
    assert RemitLimitMark.objects.exists() is False
    assert "Its history keeps what it said." in response.content.decode()
    events = RemitLimitMark.pgh_event_model.objects.filter(referral_id=emergency.pk)
    assert [e.pgh_label for e in events.order_by("pgh_id")] == ["insert", "update", "delete"]
    deleted = events.get(pgh_label="delete")
    assert (deleted.clause_text, deleted.note) == ("Highest urgency accepted: Urgent", "Too much.")
    assert deleted.marked_by == red_cross_lead and deleted.updated_by == deputy  # who took it back


def test_a_worker_cannot_take_a_mark_back(client, red_cross_lead, red_cross_worker, emergency):
    remit_mark_create(referral=emergency, user=red_cross_lead, clause="urgency")
    client.force_login(red_cross_worker)

    assert client.post(withdraw_url(emergency)).status_code == 403
    assert RemitLimitMark.objects.exists()


# --- What others see ------------------------------------------------------------------------


def test_the_referrer_sees_the_mark_on_the_referral_and_a_badge_in_their_list(
    client, icc, commissioner, red_cross_lead, emergency, home_from_hospital
):
    unmarked = ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(11))
    remit_mark_create(
        referral=emergency, user=red_cross_lead, clause="urgency", note="We cannot do 999 work."
    )
    client.force_login(icc)

    detail = client.get(reverse("referral_detail", args=[emergency.pk])).content.decode()
    other = client.get(reverse("referral_detail", args=[unmarked.pk])).content.decode()
    listing = client.get(reverse("referral_list")).content.decode()
    client.force_login(commissioner)
    seen_by_commissioner = client.get(reverse("referral_detail", args=[emergency.pk]))

    assert (
        "At the limit of remit — marked by Vera Lewis (Eastern Red Cross Home from Hospital) on "
        "23 November 2026, quoting: “Highest urgency accepted: Urgent”"
    ) in detail
    assert "Note: We cannot do 999 work." in detail
    assert "remit-mark/" not in detail  # no button to mark or take back for the referrer
    assert "At the limit of remit" not in other
    assert listing.count("At remit limit") == 1
    assert "At the limit of remit — marked by Vera Lewis" in seen_by_commissioner.content.decode()


def test_the_lead_is_offered_the_mark_button_on_the_referral_until_it_is_marked(
    client, red_cross_lead, emergency
):
    client.force_login(red_cross_lead)
    before = client.get(reverse("referral_detail", args=[emergency.pk])).content.decode()
    remit_mark_create(referral=emergency, user=red_cross_lead, clause="urgency")

    after = client.get(reverse("referral_detail", args=[emergency.pk])).content.decode()

    assert f'href="{mark_url(emergency)}"' in before
    assert f'href="{mark_url(emergency)}"' not in after
    assert f'href="{withdraw_url(emergency)}"' in after


def test_the_list_badge_adds_no_query_per_row(
    client, icc, red_cross_lead, home_from_hospital, django_assert_max_num_queries
):
    for day in range(1, 21):
        referral = ReferralFactory(
            service=home_from_hospital, referrer=icc, referred_at=on(day), urgency=Urgency.EMERGENCY
        )
        if day % 2:
            remit_mark_create(referral=referral, user=red_cross_lead, clause="urgency")
    client.force_login(icc)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("referral_list"))

    assert response.content.decode().count("At remit limit") == 10
