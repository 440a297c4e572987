import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Role, User
from commissioning.codes import ServiceStatus, SpecificationStatus, Urgency
from commissioning.instruments import Measure, pam_level, swemwbs_metric
from commissioning.models import (
    CommissioningFramework,
    Organisation,
    Place,
    Sector,
    Service,
    ServiceSpecification,
    System,
    VsoKind,
)
from core.nhs import synthetic_nhs_number
from referrals.models import (
    Consent,
    Episode,
    EpisodeInput,
    Goal,
    OutcomeScore,
    Patient,
    PatientCost,
    Referral,
    ReferralSource,
    ReferralStatus,
    Subgroup,
    Timepoint,
)

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


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory, voluntary=True)
    name = factory.Sequence(lambda n: f"Service {n}")
    description = "Practical help at home for people leaving hospital."
    needs = factory.LazyFunction(lambda: ["home_help", "hospital_discharge_support"])
    eligibility = "Adults leaving hospital who live in the area."
    status = ServiceStatus.ACTIVE


class FrameworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommissioningFramework
        django_get_or_create = ["system", "name"]

    system = factory.SubFactory(SystemFactory)
    name = "Voluntary Sector Commissioning Framework 2026-29"
    objectives = "Voluntary organisations bridge health and social care; they do not replace them."
    outcome_measures = factory.LazyFunction(lambda: ["wemwbs", "goals"])
    starts_on = datetime.date(2026, 4, 1)
    ends_on = datetime.date(2029, 3, 31)


class SpecificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceSpecification

    service = factory.SubFactory(ServiceFactory)
    framework = factory.SubFactory(
        FrameworkFactory, system=factory.SelfAttribute("..service.organisation.system")
    )
    version = factory.Sequence(lambda n: n + 1)
    status = SpecificationStatus.ACTIVE
    eligibility = "Adults aged 18 or over leaving hospital."
    min_age = 18
    activities_in_remit = factory.LazyFunction(
        lambda: ["home_help", "shopping", "hospital_discharge_support", "befriending"]
    )
    activities_excluded = factory.LazyFunction(
        lambda: ["personal_care", "clinical_task", "emergency_response"]
    )
    max_urgency = Urgency.URGENT
    monthly_capacity = 40
    max_episode_weeks = 6
    response_target_hours = 48
    max_interim_cover_days = 14
    outcome_measures = factory.LazyFunction(lambda: ["wemwbs", "goals"])
    funding_gbp = Decimal("85000.00")
    starts_on = datetime.date(2026, 4, 1)
    ends_on = datetime.date(2027, 3, 31)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    nhs_number = factory.Sequence(synthetic_nhs_number)
    given_name = factory.Faker("first_name", locale="en_GB")
    family_name = factory.Faker("last_name", locale="en_GB")
    date_of_birth = datetime.date(1938, 5, 17)
    postcode = "EH1 1AA"
    lives_alone = True


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    patient = factory.SubFactory(PatientFactory)
    referrer = factory.SubFactory(UserFactory, role=Role.ICC)
    referrer_organisation = factory.SelfAttribute("referrer.organisation")
    source = ReferralSource.ICC
    service = factory.SubFactory(ServiceFactory)
    organisation = factory.SelfAttribute("service.organisation")
    destination_sector = factory.SelfAttribute("organisation.sector")
    # A voluntary organisation receives a patient's details only on a lawful basis.
    lawful_basis = factory.LazyAttribute(
        lambda referral: "consent" if referral.destination_sector == "voluntary" else ""
    )
    needs = factory.LazyFunction(lambda: ["shopping"])
    activities = factory.LazyFunction(lambda: ["shopping"])
    urgency = Urgency.SOON
    status = ReferralStatus.RECEIVED
    referred_at = factory.LazyFunction(timezone.now)


class ConsentFactory(factory.django.DjangoModelFactory):
    """The patient's consent to share, given in person a month before now."""

    class Meta:
        model = Consent

    patient = factory.SubFactory(PatientFactory)
    decision = "given"
    method = "in_person"
    decided_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    recorded_by = factory.SubFactory(UserFactory, role=Role.ICC)


class EpisodeFactory(factory.django.DjangoModelFactory):
    """An episode of wellbeing co-ordination on an accepted voluntary referral."""

    class Meta:
        model = Episode

    referral = factory.SubFactory(ReferralFactory, status=ReferralStatus.ACCEPTED)
    subgroup = Subgroup.SOCIAL
    started_on = factory.LazyAttribute(
        lambda episode: timezone.localdate(episode.referral.referred_at)
    )


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Goal

    episode = factory.SubFactory(EpisodeFactory)
    description = "Get out to the lunch club once a week"
    set_on = factory.SelfAttribute("episode.started_on")


class EpisodeInputFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EpisodeInput

    episode = factory.SubFactory(EpisodeFactory)
    given_on = factory.SelfAttribute("episode.started_on")
    need_id = "befriending"
    minutes = 45


def score_fields(measure: str, values: list[int] | int | str, **extra) -> dict:
    """An OutcomeScore's fields as the rules in commissioning/instruments.py make them: item
    scores for WEMWBS, SWEMWBS and the Outcomes Star, one number for PAM and Rockwood."""
    if measure in (Measure.WEMWBS, Measure.SWEMWBS, Measure.OUTCOMES_STAR):
        items = list(values)  # type: ignore[arg-type]
        total = sum(items)
        score = swemwbs_metric(total) if measure == Measure.SWEMWBS else Decimal(total)
        fields = {"items": items, "item_count": len(items), "score": score}
        if measure == Measure.OUTCOMES_STAR:
            fields["star_version"] = extra.pop("star_version", "motivational_7")
        return fields | extra
    score = Decimal(str(values))
    fields = {"score": score}
    if measure == Measure.PAM:
        fields["level"] = pam_level(score)
    return fields | extra


class OutcomeScoreFactory(factory.django.DjangoModelFactory):
    """Pass `measure` and its scores through `score_fields`, for example
    `OutcomeScoreFactory(episode=e, measure="pam", **score_fields("pam", 48))`."""

    class Meta:
        model = OutcomeScore

    episode = factory.SubFactory(EpisodeFactory)
    measure = Measure.ROCKWOOD
    timepoint = Timepoint.BASELINE
    taken_on = factory.SelfAttribute("episode.started_on")
    score = Decimal("5")


class PatientCostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientCost

    system = factory.SubFactory(SystemFactory)
    patient = factory.SubFactory(PatientFactory)
    cost_12m_before = Decimal("3467.00")
    cost_12m_after = Decimal("8196.00")
