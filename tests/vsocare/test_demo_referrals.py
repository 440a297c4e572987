import datetime
from zoneinfo import ZoneInfo

import nhs_number
import pytest
from django.utils import timezone

from commissioning.models import Organisation, Sector, Service, System
from referrals.models import OPEN_STATUSES, Patient, Referral, ReferralStatus
from vsocare.demo import SERVICES, SYSTEM_NAME, seed_demo
from vsocare.demo_outcome_tables import EXTERNAL_ID_PREFIX as OUTCOMES_PREFIX
from vsocare.demo_referrals import seed_demo_referrals

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=LONDON)
EXTERNAL_IDS = {f"demo-{n:04d}" for n in range(1, 301)}


def story():
    """The referral story's referrals: not the wellbeing clients of vsocare.demo_outcomes."""
    return Referral.objects.exclude(external_id__startswith=OUTCOMES_PREFIX)


def seed_referrals():
    system = System.objects.get(name=SYSTEM_NAME)
    organisations = {o.name: o for o in Organisation.objects.filter(system=system)}
    return seed_demo_referrals(system=system, organisations=organisations)


def seed():
    """seed_demo, then this seeder directly: works whether or not seed_demo calls it yet."""
    seed_demo()
    return seed_referrals()


@pytest.fixture
def seeded(time_machine):
    time_machine.move_to(TODAY, tick=False)
    seed()


def days_waited(referral) -> int:
    return (timezone.localdate() - timezone.localtime(referral.referred_at).date()).days


@pytest.mark.usefixtures("seeded")
def test_it_seeds_a_few_hundred_referrals_split_between_sectors_as_in_the_study():
    total = story().count()
    assert total == 300
    assert set(story().values_list("external_id", flat=True)) == EXTERNAL_IDS
    # The study: 167 / 396 / 181 referrals.
    shares = {Sector.HEALTH: 0.224, Sector.SOCIAL_CARE: 0.532, Sector.VOLUNTARY: 0.243}
    for sector, share in shares.items():
        count = story().filter(destination_sector=sector).count()
        assert abs(count / total - share) < 0.02, sector
    assert story().values("source").distinct().count() >= 6
    oldest = story().order_by("referred_at").first()
    assert 365 < days_waited(oldest) <= 548


@pytest.mark.usefixtures("seeded")
def test_every_patient_has_a_synthetic_nhs_number_from_the_999_range_and_consent():
    patients = list(Patient.objects.filter(referrals__in=story()).distinct())

    assert len(patients) == 120
    for patient in patients:
        assert patient.nhs_number.startswith("999")
        assert nhs_number.is_valid(patient.nhs_number)
        assert datetime.date(1930, 1, 1) <= patient.date_of_birth <= datetime.date(1960, 12, 31)
        consent = patient.consents.get()
        assert consent.decision == "given" and consent.decided_on <= timezone.localdate()
        assert patient.postcode[:2] in {"NB", "EM", "SX"}
    assert len({(p.given_name, p.family_name) for p in patients}) == 120
    assert any(p.lives_alone for p in patients)
    assert any(p.is_carer for p in patients)
    assert any(p.is_cared_for for p in patients)
    assert all(patient.referrals.exists() for patient in patients)


@pytest.mark.usefixtures("seeded")
def test_patients_wait_for_social_care_while_a_volunteer_covers_one_of_them_19_days():
    waiting = Referral.objects.filter(
        destination_sector=Sector.SOCIAL_CARE,
        status__in=[ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED],
        interim_cover__isnull=False,
    ).distinct()

    assert waiting.count() >= 5
    waits = sorted(days_waited(referral) for referral in waiting)
    assert waits[0] >= 5
    assert waits[-1] <= 25
    assert waits.count(19) == 1
    for referral in waiting:
        for cover in referral.interim_cover.all():
            assert cover.destination_sector == Sector.VOLUNTARY
            assert cover.patient_id == referral.patient_id
            assert cover.referred_at > referral.referred_at
            assert cover.status in OPEN_STATUSES


@pytest.mark.usefixtures("seeded")
def test_some_needs_were_refused_by_health_or_social_care_before_anyone_else_took_them():
    gaps = Referral.objects.filter(statutory_declined_by__isnull=False)

    assert gaps.count() >= 5
    assert gaps.filter(destination_sector=Sector.VOLUNTARY).exists()
    assert gaps.filter(statutory_decline_reason="Not health, it's social care.").exists()
    for referral in gaps.select_related("statutory_declined_by"):
        assert not referral.statutory_declined_by.is_voluntary
        assert referral.statutory_decline_reason


@pytest.mark.usefixtures("seeded")
def test_out_of_remit_referrals_carry_the_remit_check_reasons_and_an_override():
    voluntary = Referral.objects.filter(destination_sector=Sector.VOLUNTARY)
    out = voluntary.filter(out_of_remit=True)

    assert out.count() >= 5
    assert out.count() < voluntary.count() / 4  # most are within remit
    rules = set()
    for referral in out:
        assert referral.override_reason
        assert referral.remit_reasons
        for reason in referral.remit_reasons:
            assert set(reason) == {"rule", "message", "clause"}
            rules.add(reason["rule"])
    assert {"urgency", "excluded_activity"} <= rules
    assert not voluntary.filter(out_of_remit=False).exclude(remit_reasons=[]).exists()


OFF_THE_RADAR = "Moorland Street Champions"


@pytest.mark.usefixtures("seeded")
def test_every_commissioned_voluntary_service_in_the_demo_receives_referrals():
    for organisation, (service_name, *_) in SERVICES.items():
        service = Service.objects.get(organisation__name=organisation, name=service_name)
        if service.organisation.is_voluntary and organisation != OFF_THE_RADAR:
            assert service.referrals.count() >= 3, service_name
    # Kept without referrals on purpose, for the dashboard's "off the radar" list.
    assert not Service.objects.get(organisation__name=OFF_THE_RADAR).referrals.exists()
    assert not Referral.objects.filter(
        destination_sector=Sector.VOLUNTARY, service__isnull=True
    ).exists()


@pytest.mark.usefixtures("seeded")
def test_each_referral_has_a_lifecycle_in_order_and_nothing_in_the_future():
    now = timezone.now()
    statuses = set()
    for r in Referral.objects.all():
        statuses.add(r.status)
        assert r.referred_at <= now
        assert r.version == 1
        assert r.referrer.email == "icc@eastern-health.example"
        assert r.referrer_organisation_id == r.referrer.organisation_id
        stamps = [r.referred_at, r.decided_at, r.first_contact_at, r.closed_at]
        present = [stamp for stamp in stamps if stamp is not None]
        assert present == sorted(present)
        assert present[-1] <= now
        if r.withdrawn_at:
            assert (r.decided_at or r.referred_at) <= r.withdrawn_at <= now
        if r.status == ReferralStatus.RECEIVED:
            assert r.decided_at is None
        if r.status in (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS):
            assert r.decided_at is not None and r.closed_at is None
        if r.status == ReferralStatus.IN_PROGRESS:
            assert r.first_contact_at is not None
        if r.status == ReferralStatus.CLOSED:
            assert r.closed_at and r.outcome
        if r.status == ReferralStatus.DECLINED:
            assert r.decided_at and r.decline_reason
        if r.status == ReferralStatus.WITHDRAWN:
            assert r.withdrawn_at and r.withdrawal_reason
    assert statuses == set(ReferralStatus.values)


def test_a_second_run_adds_nothing_even_on_another_day(time_machine):
    time_machine.move_to(TODAY, tick=False)
    seed_demo()
    seed_referrals()
    counts = (Referral.objects.count(), Patient.objects.count())

    time_machine.move_to(TODAY + datetime.timedelta(days=40), tick=False)
    assert seed() == 0
    seed_demo()

    assert (Referral.objects.count(), Patient.objects.count()) == counts


def test_the_same_referrals_are_planned_before_the_framework_began(time_machine):
    # Before April 2026 only Home from Hospital had a specification in force: referrals to the
    # other services are out of remit, and still carry a reason, which the database insists on.
    time_machine.move_to(datetime.datetime(2026, 2, 10, 9, 30, tzinfo=LONDON), tick=False)
    seed()

    assert set(story().values_list("external_id", flat=True)) == EXTERNAL_IDS
    assert not Referral.objects.filter(referred_at__gt=timezone.now()).exists()
    assert not Referral.objects.filter(out_of_remit=True, override_reason="").exists()
