"""Synthetic demo data for Eastern Health, an invented integrated care system.

Every name is made up. Later features add their own demo records here; each step must be
idempotent (look up by natural key first) so that running seed_demo twice adds nothing.
"""

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_create
from commissioning.models import Neighbourhood, Organisation, Place, Sector, System, VsoKind

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
    created = {"places": 0, "organisations": 0, "users": 0}
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
    return created
