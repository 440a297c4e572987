"""The directory of the Eastern Health demo, as plain data: its places, organisations, users,
services, their specifications and the listing details each voluntary organisation keeps.

Every name is made up. vsocare.demo writes these to the database; the demo referrals are
planned against the services and specifications here.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from accounts.models import Role
from commissioning.codes import Urgency
from commissioning.models import Sector, VsoKind

# place -> its neighbourhoods (primary care networks)
PLACES: dict[str, list[str]] = {
    "Northbridge": ["Northbridge Central PCN", "Riverside PCN"],
    "Eastmoor": ["Eastmoor Town PCN", "Moorland Villages PCN"],
    "Saltmarsh Coast": ["Saltmarsh Bay PCN", "Fenwick and Marshes PCN"],
}


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    sector: str
    kind: str = ""
    place: str | None = None  # None: system-wide
    charity_number: str = ""


ORGANISATIONS = [
    DemoOrganisation("NHS Eastern Health Integrated Care Board", Sector.HEALTH),
    DemoOrganisation("Eastern Health Hospitals NHS Foundation Trust", Sector.HEALTH),
    DemoOrganisation("Eastern Community Health Services", Sector.HEALTH),
    DemoOrganisation(
        "Northbridge Central Primary Care Network", Sector.HEALTH, place="Northbridge"
    ),
    DemoOrganisation("Eastshire County Council Adult Social Care", Sector.SOCIAL_CARE),
    DemoOrganisation("Saltmarsh Reablement Team", Sector.SOCIAL_CARE, place="Saltmarsh Coast"),
    DemoOrganisation(
        "Eastern Red Cross Home from Hospital",
        Sector.VOLUNTARY,
        VsoKind.REGISTERED_CHARITY,
        "Northbridge",
        "1999001",
    ),
    DemoOrganisation(
        "Age Concern Eastmoor Befriending",
        Sector.VOLUNTARY,
        VsoKind.REGISTERED_CHARITY,
        "Eastmoor",
        "1999002",
    ),
    DemoOrganisation(
        "Saltmarsh Good Neighbours", Sector.VOLUNTARY, VsoKind.HYPER_LOCAL_GROUP, "Saltmarsh Coast"
    ),
    DemoOrganisation(
        "Little Fenwick Parish Council", Sector.VOLUNTARY, VsoKind.PARISH_COUNCIL, "Saltmarsh Coast"
    ),
    # Nobody refers to it yet: the dashboard's "off the radar" list, as the Oxfordshire study
    # found for hyper-local groups.
    DemoOrganisation(
        "Moorland Street Champions", Sector.VOLUNTARY, VsoKind.HYPER_LOCAL_GROUP, "Eastmoor"
    ),
    DemoOrganisation(
        "Northbridge Wellbeing Co-ordination CIC",
        Sector.VOLUNTARY,
        VsoKind.SOCIAL_ENTERPRISE,
        "Northbridge",
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
    # The lead of the wellbeing co-ordination service, whose clients' episodes and outcomes
    # the demo holds (vsocare/demo_outcomes.py): the VSO side of the "added value".
    DemoUser(
        "lead@wellbeing.example",
        "Wanda Hughes",
        Role.VSO_LEAD,
        "Northbridge Wellbeing Co-ordination CIC",
        "Wellbeing co-ordination lead",
    ),
    DemoUser(
        "admin@eastern-health.example",
        "Ada Nwosu",
        Role.ADMINISTRATOR,
        "NHS Eastern Health Integrated Care Board",
        "Digital services administrator",
    ),
]


class DemoService(NamedTuple):
    """A tuple, so that `name, needs, *_ = SERVICES[organisation]` still works."""

    name: str
    needs: list[str]
    places: list[str]  # empty: the whole system
    eligibility: str
    min_age: int | None


# organisation -> its one service
SERVICES: dict[str, DemoService] = {
    "Eastern Red Cross Home from Hospital": DemoService(
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
    "Age Concern Eastmoor Befriending": DemoService(
        "Befriending and Friendship Calls",
        ["befriending", "social_prescription", "digital_inclusion", "caregiver_support"],
        ["Eastmoor"],
        "Older people who are lonely or isolated.",
        60,
    ),
    "Saltmarsh Good Neighbours": DemoService(
        "Good Neighbours Help",
        ["shopping", "transport", "prescription_collection", "befriending"],
        ["Saltmarsh Coast"],
        "Anyone in the Saltmarsh villages who needs a hand.",
        None,
    ),
    "Moorland Street Champions": DemoService(
        "Neighbourly Check-ins",
        ["befriending", "shopping", "digital_inclusion"],
        ["Eastmoor"],
        "Anyone living alone in the Moorland villages.",
        None,
    ),
    "Little Fenwick Parish Council": DemoService(
        "Village Warden",
        ["transport", "equipment", "housing_paperwork"],
        ["Saltmarsh Coast"],
        "Residents of Little Fenwick parish.",
        None,
    ),
    "Northbridge Wellbeing Co-ordination CIC": DemoService(
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
    "Eastern Community Health Services": DemoService(
        "Community Nursing",
        ["clinical_task", "personal_care"],
        [],
        "Housebound adults registered with an Eastern Health GP.",
        18,
    ),
    "Eastshire County Council Adult Social Care": DemoService(
        "Adult Social Care Assessment",
        ["personal_care", "care_coordination", "caregiver_support"],
        [],
        "Adults who may have eligible care and support needs under the Care Act 2014.",
        18,
    ),
    "Saltmarsh Reablement Team": DemoService(
        "Reablement at Home",
        ["personal_care", "equipment", "hospital_discharge_support"],
        ["Saltmarsh Coast"],
        "Adults leaving hospital who can regain independence within six weeks.",
        18,
    ),
}

FRAMEWORK_NAME = "Eastern Health Voluntary Sector Commissioning Framework 2026-2029"
FRAMEWORK_OBJECTIVES = (
    "Voluntary organisations bridge gaps between health and social care; they are "
    "not a substitute for statutory services.\n"
    "Every referral to a voluntary service is within its specification.\n"
    "No patient waits unseen for a statutory service while a volunteer covers."
)
FRAMEWORK_OUTCOME_MEASURES = ["wemwbs", "goals"]
FRAMEWORK_STARTS_ON = date(2026, 4, 1)
FRAMEWORK_ENDS_ON = date(2029, 3, 31)
STATUTORY_EXCLUSIONS = ["personal_care", "clinical_task", "emergency_response"]


@dataclass(frozen=True)
class DemoSpecification:
    """One version of a service specification; the fields are ServiceSpecification's."""

    eligibility: str = ""
    not_eligible_for_social_care: bool = False
    min_age: int | None = None
    max_age: int | None = None
    activities_in_remit: list[str] = field(default_factory=list)
    activities_excluded: list[str] = field(default_factory=lambda: list(STATUTORY_EXCLUSIONS))
    max_urgency: str = Urgency.SOON
    monthly_capacity: int | None = None
    max_episode_weeks: int | None = None
    response_target_hours: int | None = None
    max_interim_cover_days: int | None = None
    outcome_measures: list[str] = field(default_factory=lambda: ["goals"])
    outcomes_star_version: str = ""
    funding_gbp: Decimal | None = None
    starts_on: date = FRAMEWORK_STARTS_ON
    ends_on: date | None = FRAMEWORK_ENDS_ON


# service -> versions, oldest first; the last is active, earlier ones retired.
SPECIFICATIONS: dict[str, list[DemoSpecification]] = {
    "Home from Hospital": [
        DemoSpecification(
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
        DemoSpecification(
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
        DemoSpecification(
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
        DemoSpecification(
            eligibility="Anyone in the Saltmarsh villages.",
            activities_excluded=["emergency_response"],
            max_urgency=Urgency.URGENT,
            funding_gbp=Decimal("3500.00"),
        )
    ],
    "Village Warden": [
        DemoSpecification(
            eligibility="Residents of Little Fenwick parish.",
            activities_in_remit=["transport", "equipment", "housing_paperwork"],
            monthly_capacity=6,
            funding_gbp=Decimal("2000.00"),
        )
    ],
    "Wellbeing Co-ordination": [
        DemoSpecification(
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
            outcomes_star_version="motivational_7",
            funding_gbp=Decimal("120000.00"),
        )
    ],
}


@dataclass(frozen=True)
class DemoListing:
    """A voluntary organisation's listing details, in days from today."""

    safeguarding_lead: str
    dbs_checks_valid_days: int
    insurance_valid_days: int
    verified_days_ago: int


# Services of organisations without a listing were last verified this many days ago.
UNLISTED_VERIFIED_DAYS_AGO = 30
SAFEGUARDING_POLICY_REVIEW_DAYS = 180

LISTINGS: dict[str, DemoListing] = {
    "Eastern Red Cross Home from Hospital": DemoListing("Priya Shah", 400, 300, 20),
    "Age Concern Eastmoor Befriending": DemoListing("Tom Hughes", 200, 250, 60),
    # The small group whose DBS checks have lapsed.
    "Saltmarsh Good Neighbours": DemoListing("Jean Moss", -45, 120, 90),
    # Nobody has confirmed this listing for well over six months.
    "Little Fenwick Parish Council": DemoListing("", 365, 365, 250),
    "Northbridge Wellbeing Co-ordination CIC": DemoListing("Sam Okafor", 500, 330, 10),
}
