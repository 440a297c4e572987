"""Synthetic demo data for Eastern Health, an invented integrated care system.

Every name is made up. Later features add their own demo records here; each step must be
idempotent (look up by natural key first) so that running seed_demo twice adds nothing.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import user_create
from commissioning.codes import SpecificationStatus, Urgency
from commissioning.models import (
    CommissioningFramework,
    Neighbourhood,
    Organisation,
    Place,
    Sector,
    Service,
    ServiceSpecification,
    System,
    VsoKind,
)
from vsocare.demo_concerns import seed_demo_concerns
from vsocare.demo_referrals import seed_demo_referrals
from vsocare.demo_remit import seed_demo_remit_marks

SYSTEM_NAME = "Eastern Health"
DEMO_PASSWORD = "vsocare-demo"

PLACES = {
    "Northbridge": ["Northbridge Central PCN", "Riverside PCN"],
    "Eastmoor": ["Eastmoor Town PCN", "Moorland Villages PCN"],
    "Saltmarsh Coast": ["Saltmarsh Bay PCN", "Fenwick and Marshes PCN"],
}

# (name, sector, kind, place or None for system-wide, charity number)
ORGANISATIONS = [
    ("NHS Eastern Health Integrated Care Board", Sector.HEALTH, "", None, ""),
    ("Eastern Health Hospitals NHS Foundation Trust", Sector.HEALTH, "", None, ""),
    ("Eastern Community Health Services", Sector.HEALTH, "", None, ""),
    ("Northbridge Central Primary Care Network", Sector.HEALTH, "", "Northbridge", ""),
    ("Eastshire County Council Adult Social Care", Sector.SOCIAL_CARE, "", None, ""),
    ("Saltmarsh Reablement Team", Sector.SOCIAL_CARE, "", "Saltmarsh Coast", ""),
    (
        "Eastern Red Cross Home from Hospital",
        Sector.VOLUNTARY,
        VsoKind.REGISTERED_CHARITY,
        "Northbridge",
        "1999001",
    ),
    (
        "Age Concern Eastmoor Befriending",
        Sector.VOLUNTARY,
        VsoKind.REGISTERED_CHARITY,
        "Eastmoor",
        "1999002",
    ),
    (
        "Saltmarsh Good Neighbours",
        Sector.VOLUNTARY,
        VsoKind.HYPER_LOCAL_GROUP,
        "Saltmarsh Coast",
        "",
    ),
    (
        "Little Fenwick Parish Council",
        Sector.VOLUNTARY,
        VsoKind.PARISH_COUNCIL,
        "Saltmarsh Coast",
        "",
    ),
    # Nobody refers to it yet: the dashboard's "off the radar" list, as the Oxfordshire study
    # found for hyper-local groups.
    (
        "Moorland Street Champions",
        Sector.VOLUNTARY,
        VsoKind.HYPER_LOCAL_GROUP,
        "Eastmoor",
        "",
    ),
    (
        "Northbridge Wellbeing Co-ordination CIC",
        Sector.VOLUNTARY,
        VsoKind.SOCIAL_ENTERPRISE,
        "Northbridge",
        "",
    ),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    organisation: str
    job_title: str


USERS = [
    DemoUser(
        "icc@eastern-health.example",
        "Ivy Carter",
        Role.ICC,
        "Eastern Community Health Services",
        "Integrated care coordinator",
    ),
    DemoUser(
        "commissioner@eastern-health.example",
        "Colin Mensah",
        Role.COMMISSIONER,
        "NHS Eastern Health Integrated Care Board",
        "Voluntary sector commissioning manager",
    ),
    DemoUser(
        "lead@redcross.example",
        "Vera Lewis",
        Role.VSO_LEAD,
        "Eastern Red Cross Home from Hospital",
        "Service manager",
    ),
    DemoUser(
        "worker@redcross.example",
        "Wes Patel",
        Role.VSO_WORKER,
        "Eastern Red Cross Home from Hospital",
        "Home from hospital volunteer co-ordinator",
    ),
    DemoUser(
        "admin@eastern-health.example",
        "Ada Nwosu",
        Role.ADMINISTRATOR,
        "NHS Eastern Health Integrated Care Board",
        "Digital services administrator",
    ),
]


@transaction.atomic
def seed_demo() -> dict[str, int]:
    """Create the demo records that are missing; returns how many of each were created."""
    created = {
        "places": 0,
        "organisations": 0,
        "users": 0,
        "services": 0,
        "specifications": 0,
        "referrals": 0,
    }
    system, _ = System.objects.get_or_create(name=SYSTEM_NAME)
    places = {}
    for place_name, neighbourhoods in PLACES.items():
        place, made = Place.objects.get_or_create(system=system, name=place_name)
        created["places"] += made
        places[place_name] = place
        for neighbourhood in neighbourhoods:
            Neighbourhood.objects.get_or_create(place=place, name=neighbourhood)

    organisations = {}
    for name, sector, kind, place_name, charity_number in ORGANISATIONS:
        organisation, made = Organisation.objects.get_or_create(
            system=system,
            name=name,
            defaults={
                "sector": sector,
                "kind": kind,
                "place": places.get(place_name),
                "charity_number": charity_number,
            },
        )
        created["organisations"] += made
        organisations[name] = organisation

    for demo in USERS:
        if User.objects.filter(email__iexact=demo.email).exists():
            continue
        user_create(
            email=demo.email,
            full_name=demo.full_name,
            role=demo.role,
            organisation=organisations[demo.organisation],
            job_title=demo.job_title,
            password=DEMO_PASSWORD,
        )
        created["users"] += 1

    created["services"], created["specifications"] = _seed_commissioning(system, organisations)
    created["referrals"] = seed_demo_referrals(system=system, organisations=organisations)
    created["remit marks"] = seed_demo_remit_marks()
    created["concerns"] = seed_demo_concerns()
    return created


FRAMEWORK_NAME = "Eastern Health Voluntary Sector Commissioning Framework 2026-2029"
STATUTORY_EXCLUSIONS = ["personal_care", "clinical_task", "emergency_response"]

# organisation -> (service, needs, places (empty: whole system), eligibility, min age)
SERVICES = {
    "Eastern Red Cross Home from Hospital": (
        "Home from Hospital",
        [
            "home_help",
            "shopping",
            "prescription_collection",
            "transport",
            "hospital_discharge_support",
        ],
        ["Northbridge", "Eastmoor"],
        "Adults going home from hospital who need practical help to settle in.",
        18,
    ),
    "Age Concern Eastmoor Befriending": (
        "Befriending and Friendship Calls",
        ["befriending", "social_prescription", "digital_inclusion", "caregiver_support"],
        ["Eastmoor"],
        "Older people who are lonely or isolated.",
        60,
    ),
    "Saltmarsh Good Neighbours": (
        "Good Neighbours Help",
        ["shopping", "transport", "prescription_collection", "befriending"],
        ["Saltmarsh Coast"],
        "Anyone in the Saltmarsh villages who needs a hand.",
        None,
    ),
    "Moorland Street Champions": (
        "Neighbourly Check-ins",
        ["befriending", "shopping", "digital_inclusion"],
        ["Eastmoor"],
        "Anyone living alone in the Moorland villages.",
        None,
    ),
    "Little Fenwick Parish Council": (
        "Village Warden",
        ["transport", "equipment", "housing_paperwork"],
        ["Saltmarsh Coast"],
        "Residents of Little Fenwick parish.",
        None,
    ),
    "Northbridge Wellbeing Co-ordination CIC": (
        "Wellbeing Co-ordination",
        [
            "care_coordination",
            "mental_health_support",
            "caregiver_support",
            "housing_paperwork",
            "social_prescription",
        ],
        [],
        "Adults with complex needs who are not eligible for social care.",
        18,
    ),
    "Eastern Community Health Services": (
        "Community Nursing",
        ["clinical_task", "personal_care"],
        [],
        "Housebound adults registered with an Eastern Health GP.",
        18,
    ),
    "Eastshire County Council Adult Social Care": (
        "Adult Social Care Assessment",
        ["personal_care", "care_coordination", "caregiver_support"],
        [],
        "Adults who may have eligible care and support needs under the Care Act 2014.",
        18,
    ),
    "Saltmarsh Reablement Team": (
        "Reablement at Home",
        ["personal_care", "equipment", "hospital_discharge_support"],
        ["Saltmarsh Coast"],
        "Adults leaving hospital who can regain independence within six weeks.",
        18,
    ),
}


def _spec(**overrides) -> dict:
    spec = {
        "eligibility": "",
        "not_eligible_for_social_care": False,
        "min_age": None,
        "max_age": None,
        "activities_in_remit": [],
        "activities_excluded": STATUTORY_EXCLUSIONS,
        "max_urgency": Urgency.SOON,
        "monthly_capacity": None,
        "max_episode_weeks": None,
        "response_target_hours": None,
        "max_interim_cover_days": None,
        "outcome_measures": ["goals"],
        "funding_gbp": None,
        "starts_on": date(2026, 4, 1),
        "ends_on": date(2029, 3, 31),
    }
    spec.update(overrides)
    return spec


# service -> versions, oldest first; the last is active, earlier ones retired.
SPECIFICATIONS = {
    "Home from Hospital": [
        _spec(
            eligibility="Adults leaving hospital who need practical help to settle in.",
            min_age=18,
            activities_in_remit=["home_help", "shopping", "prescription_collection", "transport"],
            max_urgency=Urgency.URGENT,
            monthly_capacity=30,
            max_episode_weeks=4,
            response_target_hours=72,
            max_interim_cover_days=7,
            funding_gbp=Decimal("64000.00"),
            starts_on=date(2025, 4, 1),
            ends_on=date(2026, 3, 31),
        ),
        _spec(
            eligibility="Adults leaving hospital who need practical help to settle in.",
            min_age=18,
            activities_in_remit=[
                "home_help",
                "shopping",
                "prescription_collection",
                "transport",
                "hospital_discharge_support",
            ],
            max_urgency=Urgency.URGENT,
            monthly_capacity=40,
            max_episode_weeks=6,
            response_target_hours=48,
            max_interim_cover_days=14,
            outcome_measures=["wemwbs", "goals"],
            funding_gbp=Decimal("85000.00"),
        ),
    ],
    # Tight: routine only, few referrals, older people only.
    "Befriending and Friendship Calls": [
        _spec(
            eligibility="People aged 60 or over who are lonely or isolated.",
            min_age=60,
            activities_in_remit=["befriending", "social_prescription", "digital_inclusion"],
            activities_excluded=[*STATUTORY_EXCLUSIONS, "home_help"],
            max_urgency=Urgency.ROUTINE,
            monthly_capacity=12,
            max_episode_weeks=12,
            response_target_hours=120,
            outcome_measures=["wemwbs", "goals"],
            funding_gbp=Decimal("22000.00"),
        )
    ],
    # Loose, and the one that says "no emergencies" and nothing else.
    "Good Neighbours Help": [
        _spec(
            eligibility="Anyone in the Saltmarsh villages.",
            activities_excluded=["emergency_response"],
            max_urgency=Urgency.URGENT,
            funding_gbp=Decimal("3500.00"),
        )
    ],
    "Village Warden": [
        _spec(
            eligibility="Residents of Little Fenwick parish.",
            activities_in_remit=["transport", "equipment", "housing_paperwork"],
            monthly_capacity=6,
            funding_gbp=Decimal("2000.00"),
        )
    ],
    "Wellbeing Co-ordination": [
        _spec(
            eligibility="Adults with complex needs who are not eligible for social care.",
            not_eligible_for_social_care=True,
            min_age=18,
            activities_in_remit=[
                "care_coordination",
                "mental_health_support",
                "caregiver_support",
                "housing_paperwork",
                "social_prescription",
                "befriending",
            ],
            max_urgency=Urgency.URGENT,
            monthly_capacity=25,
            max_episode_weeks=12,
            response_target_hours=72,
            max_interim_cover_days=21,
            outcome_measures=["wemwbs", "pam", "outcomes_star", "rockwood", "goals"],
            funding_gbp=Decimal("120000.00"),
        )
    ],
}

# organisation -> listing details: safeguarding lead, DBS valid until, insurance valid until,
# days since the listing was last verified.
LISTINGS = {
    "Eastern Red Cross Home from Hospital": ("Priya Shah", 400, 300, 20),
    "Age Concern Eastmoor Befriending": ("Tom Hughes", 200, 250, 60),
    # The small group whose DBS checks have lapsed.
    "Saltmarsh Good Neighbours": ("Jean Moss", -45, 120, 90),
    # Nobody has confirmed this listing for well over six months.
    "Little Fenwick Parish Council": ("", 365, 365, 250),
    "Northbridge Wellbeing Co-ordination CIC": ("Sam Okafor", 500, 330, 10),
}


def _seed_commissioning(system, organisations) -> tuple[int, int]:
    today = timezone.localdate()
    framework, _ = CommissioningFramework.objects.get_or_create(
        system=system,
        name=FRAMEWORK_NAME,
        defaults={
            "objectives": (
                "Voluntary organisations bridge gaps between health and social care; they are "
                "not a substitute for statutory services.\n"
                "Every referral to a voluntary service is within its specification.\n"
                "No patient waits unseen for a statutory service while a volunteer covers."
            ),
            "outcome_measures": ["wemwbs", "goals"],
            "starts_on": date(2026, 4, 1),
            "ends_on": date(2029, 3, 31),
        },
    )
    places = {place.name: place for place in Place.objects.filter(system=system)}
    made_services = made_specs = 0
    for org_name, (name, needs, place_names, eligibility, min_age) in SERVICES.items():
        organisation = organisations[org_name]
        listing = LISTINGS.get(org_name)
        service, made = Service.objects.get_or_create(
            organisation=organisation,
            name=name,
            defaults={
                "description": eligibility,
                "needs": needs,
                "eligibility": eligibility,
                "min_age": min_age,
                "last_verified_on": today - timedelta(days=listing[3] if listing else 30),
            },
        )
        if made:
            made_services += 1
            service.places.set([places[p] for p in place_names])
        if listing and not organisation.last_verified_on:
            lead, dbs_days, insurance_days, verified_days = listing
            organisation.safeguarding_lead = lead
            organisation.dbs_checks_expire_on = today + timedelta(days=dbs_days)
            organisation.insurance_expires_on = today + timedelta(days=insurance_days)
            organisation.safeguarding_policy_review_on = today + timedelta(days=180)
            organisation.last_verified_on = today - timedelta(days=verified_days)
            organisation.save()
        versions = SPECIFICATIONS.get(name, [])
        for number, content in enumerate(versions, start=1):
            status = (
                SpecificationStatus.ACTIVE
                if number == len(versions)
                else SpecificationStatus.RETIRED
            )
            _, made = ServiceSpecification.objects.get_or_create(
                service=service,
                version=number,
                defaults={
                    **content,
                    "framework": framework,
                    "status": status,
                    "published_at": timezone.now(),
                    "retired_at": timezone.now() if status == SpecificationStatus.RETIRED else None,
                },
            )
            made_specs += made
    return made_services, made_specs
