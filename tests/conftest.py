"""Named people for every role, and the embedded Redis when no REDIS_URL is given."""

import datetime
import os

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role
from commissioning.codes import Urgency
from tests.factories import (
    ConsentFactory,
    FrameworkFactory,
    OrganisationFactory,
    PatientFactory,
    PlaceFactory,
    ReferralFactory,
    ServiceFactory,
    SpecificationFactory,
    SystemFactory,
    UserFactory,
)
from vsocare import embedded

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's live_server tests


@pytest.fixture(scope="session", autouse=True)
def embedded_redis():
    """The broker for this run: the embedded one unless REDIS_URL names a real server."""
    server = None if os.environ.get("REDIS_URL") else embedded.ensure_redis()
    yield
    if server:
        server.stop()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 at full strength costs a quarter of a second per password; tests check logic.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    # The cache is in Redis, which outlives a test's database transaction, and ids repeat from
    # one test's database to the next: a page kept by one test must not answer the next.
    # clear() deletes only the cache's own keys, never the broker's (vsocare/cache.py).
    cache.clear()


@pytest.fixture(scope="session")
def static_manifest():
    # Tests run with DEBUG off and whitenoise's manifest storage, as production does, so the
    # manifest must exist; this also proves every vendored file collects (source maps included).
    call_command("collectstatic", "--noinput", verbosity=0)


# The fixtures of tests that render pages, which need the static manifest.
PAGE_FIXTURES = {"client", "admin_client", "live_server", "page", "rf"}


@pytest.fixture(autouse=True)
def static_for_pages(request):
    """Collect static files once, and only when a test renders pages: a run of model and
    service tests alone skips the second it takes."""
    if PAGE_FIXTURES & set(request.fixturenames):
        request.getfixturevalue("static_manifest")


def _ensure_starting_codes():
    from commissioning.codes import add_starting_codes
    from commissioning.models import Need, OutcomeMeasure

    add_starting_codes(Need, OutcomeMeasure)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # The codes come from a data migration; a transactional test (the browser tests) empties
    # every table when it ends, and --reuse-db would carry that into the next run.
    with django_db_blocker.unblock():
        _ensure_starting_codes()


@pytest.fixture
def starting_codes(transactional_db):
    """For transactional tests, which start after another may have emptied the tables."""
    _ensure_starting_codes()


@pytest.fixture
def system():
    return SystemFactory()


@pytest.fixture
def northbridge(system):
    return PlaceFactory(system=system, name="Northbridge")


@pytest.fixture
def red_cross(system, northbridge):
    return OrganisationFactory(
        system=system,
        place=northbridge,
        name="Eastern Red Cross Home from Hospital",
        voluntary=True,
    )


@pytest.fixture
def age_concern(system, northbridge):
    return OrganisationFactory(
        system=system, place=northbridge, name="Age Concern Eastmoor Befriending", voluntary=True
    )


@pytest.fixture
def community_trust(system):
    return OrganisationFactory(system=system, place=None, name="Eastern Community Health Services")


@pytest.fixture
def icb(system):
    return OrganisationFactory(system=system, place=None, name="NHS Eastern Health ICB")


@pytest.fixture
def icc(community_trust):
    return UserFactory(
        email="ivy.carter@example.org",
        full_name="Ivy Carter",
        role=Role.ICC,
        organisation=community_trust,
    )


@pytest.fixture
def commissioner(icb):
    return UserFactory(
        email="colin.mensah@example.org",
        full_name="Colin Mensah",
        role=Role.COMMISSIONER,
        organisation=icb,
    )


@pytest.fixture
def red_cross_lead(red_cross):
    return UserFactory(
        email="vera.lewis@example.org",
        full_name="Vera Lewis",
        role=Role.VSO_LEAD,
        organisation=red_cross,
    )


@pytest.fixture
def red_cross_worker(red_cross):
    return UserFactory(
        email="wes.patel@example.org",
        full_name="Wes Patel",
        role=Role.VSO_WORKER,
        organisation=red_cross,
    )


@pytest.fixture
def other_lead(age_concern):
    """The lead of another voluntary organisation, who must see nothing of the Red Cross's."""
    return UserFactory(
        email="olive.grant@example.org",
        full_name="Olive Grant",
        role=Role.VSO_LEAD,
        organisation=age_concern,
    )


@pytest.fixture
def administrator(icb):
    return UserFactory(
        email="ada.nwosu@example.org",
        full_name="Ada Nwosu",
        role=Role.ADMINISTRATOR,
        organisation=icb,
    )


@pytest.fixture
def user_for_role(icc, commissioner, red_cross_lead, red_cross_worker, administrator):
    people = {
        Role.ICC: icc,
        Role.COMMISSIONER: commissioner,
        Role.VSO_LEAD: red_cross_lead,
        Role.VSO_WORKER: red_cross_worker,
        Role.ADMINISTRATOR: administrator,
    }
    return people.__getitem__


@pytest.fixture
def patient():
    return PatientFactory(
        given_name="Edna", family_name="Marsh", date_of_birth=datetime.date(1938, 5, 17)
    )


@pytest.fixture
def home_from_hospital(red_cross, system):
    service = ServiceFactory(organisation=red_cross, name="Home from Hospital")
    SpecificationFactory(
        service=service,
        framework=FrameworkFactory(system=system),
        version=1,
        min_age=18,
        max_urgency=Urgency.URGENT,
        activities_in_remit=["home_help", "shopping", "befriending"],
        activities_excluded=["personal_care", "clinical_task", "emergency_response"],
        monthly_capacity=40,
        starts_on=datetime.date(2026, 4, 1),
        ends_on=datetime.date(2027, 3, 31),
    )
    return service


@pytest.fixture
def social_care(system):
    return OrganisationFactory(
        system=system, place=None, name="Eastshire Adult Social Care", sector="social_care"
    )


# --- The story of the first source paper: a frail woman waits on social care, the Red Cross
# covers in the meantime and raises its concern.


@pytest.fixture
def waiting(patient, icc, social_care):
    """The urgent social-care visit the patient has waited 19 days for."""
    return ReferralFactory(
        patient=patient,
        referrer=icc,
        service=None,
        organisation=social_care,
        urgency="urgent",
        needs=["personal_care"],
        activities=["personal_care"],
        referred_at=timezone.now() - datetime.timedelta(days=19),
    )


@pytest.fixture
def cover(patient, icc, home_from_hospital, waiting):
    """The Red Cross covering in the meantime."""
    return ReferralFactory(
        patient=patient,
        referrer=icc,
        service=home_from_hospital,
        interim_cover_for=waiting,
        referred_at=timezone.now() - datetime.timedelta(days=18),
    )


@pytest.fixture
def social_care_officer(social_care):
    """A locality officer of the social care service, which seldom uses VSO Care."""
    return UserFactory(full_name="Sam Okafor", role=Role.ICC, organisation=social_care)


# --- A second integrated care system, whose people must see and change nothing of Eastern's.


@pytest.fixture
def western():
    return SystemFactory(name="Western Health")


@pytest.fixture
def western_people(western):
    """A person of each role in Western Health, each in an organisation of Western's own."""
    westbay = PlaceFactory(system=western, name="Westbay")
    icb = OrganisationFactory(system=western, place=None, name="NHS Western Health ICB")
    trust = OrganisationFactory(system=western, place=westbay, name="Western Community Services")
    charity = OrganisationFactory(
        system=western, place=westbay, name="Westbay Good Neighbours", voluntary=True
    )
    homes = {
        Role.ICC: trust,
        Role.COMMISSIONER: icb,
        Role.VSO_LEAD: charity,
        Role.VSO_WORKER: charity,
        Role.ADMINISTRATOR: icb,
    }
    return {
        role: UserFactory(
            email=f"{role}@western.example", full_name=f"Western {role}", role=role,
            organisation=organisation,
        )
        for role, organisation in homes.items()
    }  # fmt: skip


@pytest.fixture
def eager_tasks(settings):
    """Celery runs each task in the test's own process, retries included."""
    from vsocare.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def reports_at_once(client, monkeypatch, eager_tasks):
    """A report a page asks for (a period with no snapshot) is computed as it asks, and the page
    asked once more, as its polling would: for tests of what the reports say, not of how they are
    prepared off the web (tests/referrals/test_reports_off_the_web.py)."""
    from referrals.reports import loading
    from referrals.tasks import prepare_report

    monkeypatch.setattr(loading, "_queue_after_commit", prepare_report.delay)
    get = client.get

    def get_once_prepared(*args, **kwargs):
        response = get(*args, **kwargs)
        if response.status_code == 202 or (response.context and "preparing" in response.context):
            response = get(*args, **kwargs)
        return response

    monkeypatch.setattr(client, "get", get_once_prepared)


@pytest.fixture
def known_patient(patient, icc, social_care):
    """Known to the ICC's team (an earlier referral) and with consent to share on record."""
    ReferralFactory(
        patient=patient, referrer=icc, service=None, organisation=social_care,
        destination_sector="social_care", needs=["home_help"],
    )  # fmt: skip
    ConsentFactory(patient=patient)
    return patient
