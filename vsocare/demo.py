"""Synthetic demo data for Eastern Health, an invented integrated care system.

Every name is made up; the data itself is in vsocare.demo_directory and the demo_* modules.
Later features add their own demo records; each step must be idempotent (look up by natural
key first) so that running seed_demo twice adds nothing.
"""

from dataclasses import asdict
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_create
from commissioning.codes import SpecificationStatus
from commissioning.models import (
    CommissioningFramework,
    Neighbourhood,
    Organisation,
    Place,
    Service,
    ServiceSpecification,
    System,
)
from vsocare.demo_concerns import seed_demo_concerns
from vsocare.demo_directory import (
    FRAMEWORK_ENDS_ON,
    FRAMEWORK_NAME,
    FRAMEWORK_OBJECTIVES,
    FRAMEWORK_OUTCOME_MEASURES,
    FRAMEWORK_STARTS_ON,
    LISTINGS,
    ORGANISATIONS,
    PLACES,
    SAFEGUARDING_POLICY_REVIEW_DAYS,
    SERVICES,
    SPECIFICATIONS,
    UNLISTED_VERIFIED_DAYS_AGO,
    USERS,
    DemoListing,
    DemoService,
)
from vsocare.demo_outcomes import seed_demo_outcomes
from vsocare.demo_referrals import seed_demo_referrals
from vsocare.demo_remit import seed_demo_remit_marks
from vsocare.demo_safety_net import seed_demo_safety_net

# SERVICES and USERS are imported from here by the seed_demo command and the tests.
__all__ = ["DEMO_PASSWORD", "SERVICES", "SYSTEM_NAME", "USERS", "seed_demo"]

SYSTEM_NAME = "Eastern Health"
DEMO_PASSWORD = "vsocare-demo"


@transaction.atomic
def seed_demo() -> dict[str, int]:
    """Create the demo records that are missing; returns how many of each were created."""
    system, _ = System.objects.get_or_create(name=SYSTEM_NAME)
    places, made_places = _seed_places(system)
    organisations, made_organisations = _seed_organisations(system, places)
    made_users = _seed_users(organisations)
    made_services, made_specifications = _seed_commissioning(system, organisations)
    return {
        "places": made_places,
        "organisations": made_organisations,
        "users": made_users,
        "services": made_services,
        "specifications": made_specifications,
        "referrals": seed_demo_referrals(system=system, organisations=organisations),
        "episodes": seed_demo_outcomes(system=system, organisations=organisations),
        "remit marks": seed_demo_remit_marks(),
        "concerns": seed_demo_concerns(),
        # Last: it escalates the concerns above and tells of the referrals above.
        **seed_demo_safety_net(),
    }


def _seed_places(system: System) -> tuple[dict[str, Place], int]:
    """The places by name, with their neighbourhoods, and how many places were created."""
    places = {}
    made_places = 0
    for place_name, neighbourhoods in PLACES.items():
        place, made = Place.objects.get_or_create(system=system, name=place_name)
        made_places += made
        places[place_name] = place
        for neighbourhood in neighbourhoods:
            Neighbourhood.objects.get_or_create(place=place, name=neighbourhood)
    return places, made_places


def _seed_organisations(
    system: System, places: dict[str, Place]
) -> tuple[dict[str, Organisation], int]:
    """The organisations by name, and how many were created."""
    organisations = {}
    made_organisations = 0
    for demo in ORGANISATIONS:
        organisation, made = Organisation.objects.get_or_create(
            system=system,
            name=demo.name,
            defaults={
                "sector": demo.sector,
                "kind": demo.kind,
                "place": places.get(demo.place) if demo.place else None,
                "charity_number": demo.charity_number,
            },
        )
        made_organisations += made
        organisations[demo.name] = organisation
    return organisations, made_organisations


def _seed_users(organisations: dict[str, Organisation]) -> int:
    """Create the demo users missing (by email); returns how many."""
    made_users = 0
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
        made_users += 1
    return made_users


def _seed_commissioning(system: System, organisations: dict[str, Organisation]) -> tuple[int, int]:
    """The framework, each organisation's service, listing and specifications; returns how
    many services and specifications were created."""
    today = timezone.localdate()
    framework = _seed_framework(system)
    places = {place.name: place for place in Place.objects.filter(system=system)}
    made_services = made_specs = 0
    for org_name, demo in SERVICES.items():
        organisation = organisations[org_name]
        listing = LISTINGS.get(org_name)
        service, made = _seed_service(organisation, demo, listing, places, today)
        made_services += made
        if listing and not organisation.last_verified_on:
            _record_listing(organisation, listing, today)
        made_specs += _seed_specifications(service, framework)
    return made_services, made_specs


def _seed_framework(system: System) -> CommissioningFramework:
    framework, _ = CommissioningFramework.objects.get_or_create(
        system=system,
        name=FRAMEWORK_NAME,
        defaults={
            "objectives": FRAMEWORK_OBJECTIVES,
            "outcome_measures": FRAMEWORK_OUTCOME_MEASURES,
            "starts_on": FRAMEWORK_STARTS_ON,
            "ends_on": FRAMEWORK_ENDS_ON,
        },
    )
    return framework


def _seed_service(
    organisation: Organisation,
    demo: DemoService,
    listing: DemoListing | None,
    places: dict[str, Place],
    today: date,
) -> tuple[Service, bool]:
    """The organisation's service, and whether it was created (with the places it serves)."""
    verified_days_ago = listing.verified_days_ago if listing else UNLISTED_VERIFIED_DAYS_AGO
    service, made = Service.objects.get_or_create(
        organisation=organisation,
        name=demo.name,
        defaults={
            "description": demo.eligibility,
            "needs": demo.needs,
            "eligibility": demo.eligibility,
            "min_age": demo.min_age,
            "last_verified_on": today - timedelta(days=verified_days_ago),
        },
    )
    if made:
        service.places.set([places[name] for name in demo.places])
    return service, made


def _record_listing(organisation: Organisation, listing: DemoListing, today: date) -> None:
    organisation.safeguarding_lead = listing.safeguarding_lead
    organisation.dbs_checks_expire_on = today + timedelta(days=listing.dbs_checks_valid_days)
    organisation.insurance_expires_on = today + timedelta(days=listing.insurance_valid_days)
    organisation.safeguarding_policy_review_on = today + timedelta(
        days=SAFEGUARDING_POLICY_REVIEW_DAYS
    )
    organisation.last_verified_on = today - timedelta(days=listing.verified_days_ago)
    organisation.save()


def _seed_specifications(service: Service, framework: CommissioningFramework) -> int:
    """Create the service's specification versions that are missing; returns how many."""
    versions = SPECIFICATIONS.get(service.name, [])
    made_specs = 0
    for number, content in enumerate(versions, start=1):
        status = (
            SpecificationStatus.ACTIVE if number == len(versions) else SpecificationStatus.RETIRED
        )
        _, made = ServiceSpecification.objects.get_or_create(
            service=service,
            version=number,
            defaults={
                **asdict(content),
                "framework": framework,
                "status": status,
                "published_at": timezone.now(),
                "retired_at": timezone.now() if status == SpecificationStatus.RETIRED else None,
            },
        )
        made_specs += made
    return made_specs
