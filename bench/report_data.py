"""The synthetic world the report benchmark runs on. See bench/README.md.

The directory (one system, five places, 40 referrer teams, 30 voluntary organisations with 60
services and their published specifications, health and social care organisations, people) is
made with the ORM: it is small. Patients and referrals are made by set-based SQL (`INSERT …
SELECT … FROM generate_series`), in order of referral as real append-mostly data arrives, so the
BRIN index on referred_at has something to work with. The bulk load runs with
`session_replication_role = replica`, which skips the history triggers (and the foreign key
triggers: every id written here comes from the directory just made).
"""

import time
from datetime import date, datetime, timedelta
from math import sqrt

from django.db import connection
from django.utils import timezone

from accounts.models import Role, User
from commissioning.codes import SpecificationStatus
from commissioning.models import (
    CommissioningFramework,
    Organisation,
    Place,
    Sector,
    Service,
    ServiceSpecification,
    System,
)
from core.dates import day_start
from referrals.models import Concern, Consent, Patient, Referral, RemitLimitMark

COMMISSIONER = "bench.commissioner@example.org"
PLACES = ["Northbridge", "Eastmoor", "Westfell", "Southholme", "Ashby Vale"]
DAYS = 730  # about two years, ending yesterday
CHUNK = 1_000_000  # referrals generated per statement
MAX_PATIENTS = 500_000  # core.nhs: the 999 range holds 500,000 numbers here

# The sector split in docs/domain.md: 167 / 396 / 181 of 744.
HEALTH_SHARE, SOCIAL_CARE_SHARE = 0.224, 0.532
VOLUNTARY_SHARE = 1 - HEALTH_SHARE - SOCIAL_CARE_SHARE

# Eight referrer teams per place: (name, sector, the source their referrals usually carry).
TEAMS = [
    ("{place} Surgery", Sector.HEALTH, "gp"),
    ("{place} Health Centre", Sector.HEALTH, "gp"),
    ("{place} Medical Practice", Sector.HEALTH, "gp"),
    ("{place} PCN Care Co-ordinators", Sector.HEALTH, "icc"),
    ("{place} MDT Hub", Sector.HEALTH, "mdt_hub"),
    ("{place} Urgent Community Response", Sector.HEALTH, "paramedic"),
    ("{place} Adult Social Care Locality Team", Sector.SOCIAL_CARE, "social_care"),
    ("{place} Social Prescribing Link Workers", Sector.VOLUNTARY, "social_prescriber"),
]
# Referrals that do not carry the team's usual source.
OTHER_SOURCES = ["self_or_family"] * 4 + ["residential_home"] * 3 + ["voluntary_sector"] * 2
OTHER_SOURCES += ["other", "gp", "icc", "mdt_hub"]

# Six voluntary organisations per place, two services each; the first services are the busiest
# (70% of surveyed GPs linked with just one VSO). (organisation, kind, [(service, needs)]).
VSOS = [
    ("{place} Age Concern", "registered_charity", [
        ("Wellbeing Co-ordination",
         ["care_coordination", "befriending", "housing_paperwork", "mental_health_support"]),
        ("Help at Home", ["home_help", "shopping", "prescription_collection", "equipment"]),
    ]),
    ("{place} Red Cross Support at Home", "registered_charity", [
        ("Home from Hospital",
         ["hospital_discharge_support", "home_help", "transport", "shopping"]),
        ("Mobility Aids", ["equipment", "transport", "home_help", "hospital_discharge_support"]),
    ]),
    ("{place} Carers' Link", "registered_charity", [
        ("Carer Support",
         ["caregiver_support", "befriending", "mental_health_support", "housing_paperwork"]),
        ("Bereavement Support",
         ["bereavement_support", "mental_health_support", "befriending", "social_prescription"]),
    ]),
    ("{place} Good Neighbours", "community_group", [
        ("Befriending", ["befriending", "social_prescription", "digital_inclusion", "shopping"]),
        ("Community Transport",
         ["transport", "shopping", "prescription_collection", "social_prescription"]),
    ]),
    ("{place} Village Agents", "parish_council", [
        ("Village Agent",
         ["social_prescription", "housing_paperwork", "digital_inclusion", "befriending"]),
        ("Digital Buddies",
         ["digital_inclusion", "social_prescription", "befriending", "housing_paperwork"]),
    ]),
    ("{place} Community Enterprise", "social_enterprise", [
        ("Handyperson", ["equipment", "home_help", "housing_paperwork", "transport"]),
        ("Hot Meals", ["shopping", "home_help", "befriending", "prescription_collection"]),
    ]),
]  # fmt: skip
SERVICES_PER_PLACE = sum(len(services) for _, _, services in VSOS)
STATUTORY_ACTIVITIES = ["personal_care", "clinical_task", "emergency_response"]
HEALTH_NEEDS = [
    "clinical_task", "care_coordination", "hospital_discharge_support", "mental_health_support",
    "equipment", "prescription_collection", "emergency_response", "bereavement_support",
]  # fmt: skip
SOCIAL_CARE_NEEDS = [
    "personal_care", "home_help", "care_coordination", "hospital_discharge_support",
    "caregiver_support", "housing_paperwork", "equipment", "shopping",
]  # fmt: skip

# Status by the referral's age in days: (younger than, [(status, share)]).
STATUS_BY_AGE = [
    (3, [("received", 0.50), ("accepted", 0.20), ("in_progress", 0.20), ("declined", 0.05),
         ("withdrawn", 0.03), ("closed", 0.02)]),
    (30, [("received", 0.10), ("accepted", 0.15), ("in_progress", 0.35), ("closed", 0.25),
          ("declined", 0.10), ("withdrawn", 0.05)]),
    (120, [("received", 0.02), ("accepted", 0.05), ("in_progress", 0.15), ("closed", 0.60),
           ("declined", 0.11), ("withdrawn", 0.07)]),
    (None, [("received", 0.005), ("accepted", 0.01), ("in_progress", 0.025), ("closed", 0.75),
            ("declined", 0.12), ("withdrawn", 0.09)]),
]  # fmt: skip
URGENCY = {
    "voluntary": [("routine", 0.55), ("soon", 0.30), ("urgent", 0.12), ("emergency", 0.03)],
    "statutory": [("routine", 0.40), ("soon", 0.30), ("urgent", 0.22), ("emergency", 0.08)],
}
REASONS = [
    "Lives alone and struggling since discharge",
    "Carer has been admitted to hospital",
    "Falls at home, low mood",
    "Waiting for a package of care",
    "Isolated since bereavement",
    "Needs help with shopping and prescriptions",
]
DECLINE_REASONS = [
    "Outside our remit: personal care",
    "No capacity this month",
    "Not eligible: under 65",
    "Patient declined the service",
]
OUTCOMES = ["Goals met", "Some goals met", "Referred on to social care", "Moved into care home"]
WITHDRAWAL_REASONS = ["Admitted to hospital", "Patient died", "Family now helping"]
OVERRIDES = [
    "No social-care visit for 10 days; agreed with the VSO lead by phone",
    "Interim cover until the reablement team starts",
    "Urgent: discussed at the MDT and accepted by the VSO",
]


def world_create(*, rows: int, today: date) -> dict:
    """The directory, people and specifications; returns what the SQL generator needs."""
    system = System.objects.create(name="Bay Integrated Care System")
    places = [Place.objects.create(system=system, name=name) for name in PLACES]
    framework = CommissioningFramework.objects.create(
        system=system,
        name="Voluntary sector commissioning framework",
        objectives="Bridge the gaps between health and social care; do not replace them.",
        outcome_measures=["wemwbs", "goals"],
        starts_on=today - timedelta(days=DAYS + 365),
    )

    def organisation(name, sector, place, kind="") -> Organisation:
        return Organisation(system=system, place=place, name=name, sector=sector, kind=kind)

    teams, health, social_care, vsos, services = [], [], [], [], []
    acute = organisation("Bay Acute Hospitals NHS Trust", Sector.HEALTH, None)
    mental_health = organisation("Bay Mental Health NHS Trust", Sector.HEALTH, None)
    # The commissioner's own: a person with no organisation belongs to no system, sees nothing.
    board = organisation("Bay Integrated Care Board", Sector.HEALTH, None)
    for place in places:
        for name, sector, _ in TEAMS:
            kind = "social_enterprise" if sector == Sector.VOLUNTARY else ""
            teams.append(organisation(name.format(place=place.name), sector, place, kind))
        health.append(organisation(f"{place.name} Community Health Services", Sector.HEALTH, place))
        for name in ("Council Adult Social Care", "Home First Reablement"):
            social_care.append(organisation(f"{place.name} {name}", Sector.SOCIAL_CARE, place))
        for name, kind, _ in VSOS:
            vsos.append(organisation(name.format(place=place.name), Sector.VOLUNTARY, place, kind))
    Organisation.objects.bulk_create(
        [acute, mental_health, board, *teams, *health, *social_care, *vsos]
    )
    for index, vso in enumerate(vsos):
        for name, needs in VSOS[index % len(VSOS)][2]:
            services.append(Service(organisation=vso, name=name, needs=needs))
    Service.objects.bulk_create(services)
    Service.places.through.objects.bulk_create(
        Service.places.through(service_id=s.pk, place_id=s.organisation.place_id) for s in services
    )
    ServiceSpecification.objects.bulk_create(_specifications(services, framework, rows, today))

    users = [
        User(
            email=COMMISSIONER,
            full_name="Bench Commissioner",
            role=Role.COMMISSIONER,
            organisation=board,
        )
    ]
    for n, team in enumerate(teams):
        users += [
            User(email=f"icc{n}.{k}@bench.example.org", full_name=f"ICC {n}.{k}", role=Role.ICC,
                 organisation=team)
            for k in range(3)
        ]  # fmt: skip
    for n, vso in enumerate(vsos):
        users.append(User(email=f"lead{n}@bench.example.org", full_name=f"VSO lead {n}",
                          role=Role.VSO_LEAD, organisation=vso))  # fmt: skip
        users.append(User(email=f"worker{n}@bench.example.org", full_name=f"VSO worker {n}",
                          role=Role.VSO_WORKER, organisation=vso))  # fmt: skip
    for n, org in enumerate([acute, mental_health, *health, *social_care]):
        users.append(User(email=f"duty{n}@bench.example.org", full_name=f"Duty manager {n}",
                          role=Role.ICC, job_title="Duty manager", organisation=org))  # fmt: skip
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users)
    team_users = {}
    for user in User.objects.filter(role=Role.ICC, job_title="").order_by("pk"):
        team_users.setdefault(user.organisation_id, []).append(user.pk)

    return {
        "team_org": [t.pk for t in teams],
        "team_place": [t.place_id for t in teams],
        "team_place_index": [n // len(TEAMS) for n in range(len(teams))],
        "team_source": [source for _ in places for _, _, source in TEAMS],
        "team_users": [pk for t in teams for pk in team_users[t.pk]],
        # Per place: its community services, then the two system-wide trusts.
        "health_dest": [pk for h in health for pk in (h.pk, acute.pk, mental_health.pk)],
        "social_dest": [o.pk for o in social_care],
        "svc": [s.pk for s in services],
        "svc_org": [s.organisation_id for s in services],
        "svc_needs": [list(s.needs) for s in services],
    }


def _service_share(index: int) -> float:
    """The share of a place's voluntary referrals that go to its index-th service, as the
    generator picks them: floor(12 * r^2)."""
    return sqrt((index + 1) / SERVICES_PER_PLACE) - sqrt(index / SERVICES_PER_PLACE)


def _specifications(services, framework, rows: int, today: date) -> list:
    """Every service has a published specification in force on every day of the data; half
    changed version halfway through (v1 retired, v2 active); a few have a draft v3 too."""
    data_start = today - timedelta(days=DAYS)
    midpoint = today - timedelta(days=DAYS // 2)
    published = timezone.now() - timedelta(days=DAYS + 30)
    specs = []
    for n, service in enumerate(services):
        index = n % SERVICES_PER_PLACE
        # A month's referrals to this service on average; capacity is set near it, so the
        # busy months of the second year go over.
        monthly = rows * VOLUNTARY_SHARE / len(PLACES) * _service_share(index) / (DAYS / 30.4)
        capacity = None if n % 10 == 7 else max(5, round(monthly * (1.05 + (n % 5) * 0.08)))
        wellbeing = service.name == "Wellbeing Co-ordination"
        content = {
            "service": service,
            "framework": framework,
            "eligibility": "Adults over 65 living in the place, frail or at risk of frailty.",
            "not_eligible_for_social_care": n % 3 == 0,
            "min_age": 65,
            "activities_in_remit": service.needs,
            "activities_excluded": STATUTORY_ACTIVITIES
            if n % 4
            else ["personal_care", "clinical_task"],
            "max_urgency": ["soon", "urgent", "urgent", "soon", "emergency"][n % 5],
            "monthly_capacity": capacity,
            "max_episode_weeks": 12 if wellbeing else [6, 8, None, 10][n % 4],
            "response_target_hours": [48, 72, 24][n % 3],
            "max_interim_cover_days": [14, 7, None][n % 3],
            "outcome_measures": ["wemwbs", "goals"] if wellbeing else ["goals"],
            "funding_gbp": 40_000 + 5_000 * (n % 7),
            "starts_on": data_start - timedelta(days=120),
            "published_at": published,
        }
        if n % 2:
            specs.append(ServiceSpecification(version=1, status=SpecificationStatus.ACTIVE,
                                              **content))  # fmt: skip
        else:
            specs.append(ServiceSpecification(
                version=1, status=SpecificationStatus.RETIRED, retired_at=day_start(midpoint),
                **{**content, "ends_on": midpoint - timedelta(days=1)},
            ))  # fmt: skip
            specs.append(ServiceSpecification(
                version=2, status=SpecificationStatus.ACTIVE,
                **{**content, "starts_on": midpoint, "published_at": day_start(midpoint),
                   "monthly_capacity": capacity and round(capacity * 1.2),
                   "max_urgency": "urgent" if content["max_urgency"] == "soon" else "emergency"},
            ))  # fmt: skip
        if n % 7 == 0:
            specs.append(ServiceSpecification(
                version=3 if n % 2 == 0 else 2, status=SpecificationStatus.DRAFT,
                **{**content, "starts_on": today + timedelta(days=30), "published_at": None,
                   "monthly_capacity": capacity and capacity * 2},
            ))  # fmt: skip
    return specs


def _case(value: str, table: list[tuple[str, float]]) -> str:
    """CASE WHEN value < cumulative share THEN code … for a (code, share) table."""
    parts, total = [], 0.0
    for code, share in table[:-1]:
        total += share
        parts.append(f"WHEN {value} < {total:.4f} THEN '{code}'")
    return f"CASE {' '.join(parts)} ELSE '{table[-1][0]}' END"


def _status_case() -> str:
    parts = []
    for younger_than, table in STATUS_BY_AGE:
        case = _case("x.r_status", table)
        parts.append(f"WHEN a.age_days < {younger_than} THEN {case}" if younger_than else case)
    return f"CASE {' '.join(parts[:-1])} ELSE {parts[-1]} END"


_PATIENTS_SQL = """
INSERT INTO {patient} (nhs_number, given_name, family_name, date_of_birth, postcode,
                       lives_alone, is_carer, is_cared_for, created_at, updated_at)
SELECT n.nhs_number,
       (ARRAY['Edna','Albert','Margaret','Harold','Joan','Stanley','Doris','Frank','Irene'])
           [1 + i %% 9],
       (ARRAY['Marsh','Hughes','Patel','Okafor','Smith','Nowak','Campbell','Davies','Khan'])
           [1 + (i / 9) %% 9],
       %(born_from)s::date + (i::bigint * 7919 %% 12775)::int,
       'LA' || (1 + i %% 23) || ' ' || (i %% 10) || chr(65 + i %% 26) || chr(65 + (i / 26) %% 26),
       i %% 3 = 0, i %% 11 = 0, i %% 4 = 0, %(now)s, %(now)s
FROM generate_series(0, %(patients)s - 1) i
-- core.nhs.synthetic_nhs_number in SQL: of the serials 2i and 2i+1 in the 999 range, the
-- first with a modulus 11 check digit (weights 10..2; 11 means 0, 10 means no such number).
CROSS JOIN LATERAL (
    SELECT s.nine || CASE WHEN w.check_digit = 11 THEN 0 ELSE w.check_digit END AS nhs_number
    FROM (VALUES (2 * i), (2 * i + 1)) v (serial)
    CROSS JOIN LATERAL (SELECT '999' || lpad(v.serial::text, 6, '0') AS nine) s
    CROSS JOIN LATERAL (
        SELECT 11 - sum(substr(s.nine, k, 1)::int * (11 - k)) %% 11 AS check_digit
        FROM generate_series(1, 9) k
    ) w
    WHERE w.check_digit <> 10
    ORDER BY v.serial
    LIMIT 1
) n
"""

# Every patient gave consent, on a day in the last two years: their voluntary referrals rest on it.
_CONSENTS_SQL = """
INSERT INTO {consent} (patient_id, decision, method, decided_on, note, recorded_at)
SELECT id, 'given', 'in_person', %(today)s::date - (id %% 700)::int, '', %(now)s
FROM {patient} ORDER BY id
"""

# One chunk of referrals into an unlogged staging table: every random draw first (OFFSET 0
# keeps each random() evaluated once per row), then what follows from them.
_STAGE_SQL = """
CREATE UNLOGGED TABLE bench_stage AS
SELECT x.g AS id, x.referred_at, x.patient_id,
       (%(team_users)s::bigint[])[(x.team - 1) * 3 + 1 + floor(x.r_user * 3)::int] AS referrer_id,
       (%(team_org)s::bigint[])[x.team] AS referrer_organisation_id,
       CASE WHEN x.r_flag >= 0.99 THEN NULL ELSE (%(team_place)s::bigint[])[x.team] END
           AS place_id,
       CASE WHEN x.r_source < 0.85 THEN (%(team_source)s::text[])[x.team]
            ELSE (%(other_sources)s::text[])
                     [1 + floor(x.r_text * array_length(%(other_sources)s::text[], 1))::int]
       END AS source,
       a.sector AS destination_sector,
       CASE a.sector
           WHEN 'health' THEN (%(health_dest)s::bigint[])
               [a.place_index * 3 + CASE WHEN x.r_dest < 0.6 THEN 1
                                         WHEN x.r_dest < 0.85 THEN 2 ELSE 3 END]
           WHEN 'social_care' THEN (%(social_dest)s::bigint[])
               [a.place_index * 2 + CASE WHEN x.r_dest < 0.8 THEN 1 ELSE 2 END]
           ELSE (%(svc_org)s::bigint[])[b.svc]
       END AS organisation_id,
       (%(svc)s::bigint[])[b.svc] AS service_id,
       c.needs,
       CASE WHEN a.sector = 'voluntary' AND x.r_flag < 0.04
            THEN c.needs || (%(statutory_activities)s::text[])[1 + floor(x.r_text * 3)::int]
            ELSE c.needs END AS activities,
       CASE WHEN a.sector = 'voluntary' THEN {voluntary_urgency} ELSE {statutory_urgency} END
           AS urgency,
       (%(reasons)s::text[])[1 + floor(x.r_text * array_length(%(reasons)s::text[], 1))::int]
           AS reason,
       b.status,
       t.decided_at,
       CASE WHEN b.status = 'declined'
            THEN (%(decline_reasons)s::text[])[1 + floor(x.r_text * 4)::int] ELSE '' END
           AS decline_reason,
       t.first_contact_at,
       t.closed_at,
       CASE WHEN b.status = 'closed'
            THEN (%(outcomes)s::text[])[1 + floor(x.r_text * 4)::int] ELSE '' END AS outcome,
       t.withdrawn_at,
       CASE WHEN b.status = 'withdrawn'
            THEN (%(withdrawal_reasons)s::text[])[1 + floor(x.r_text * 3)::int] ELSE '' END
           AS withdrawal_reason,
       -- A statutory service declined the need first ("not eligible for social care").
       CASE WHEN a.sector = 'voluntary' AND x.r_flag >= 0.13 AND x.r_flag < 0.30
            THEN CASE WHEN x.r_text < 0.6
                      THEN (%(social_dest)s::bigint[])[a.place_index * 2 + 1]
                      ELSE (%(health_dest)s::bigint[])[a.place_index * 3 + 1] END
       END AS statutory_declined_by_id,
       CASE WHEN a.sector = 'voluntary' AND x.r_flag >= 0.13 AND x.r_flag < 0.30
            THEN CASE WHEN x.r_text < 0.6 THEN 'Not eligible for social care'
                      ELSE 'Not a health need' END
            ELSE '' END AS statutory_decline_reason,
       a.sector = 'voluntary' AND x.r_flag >= 0.02 AND x.r_flag < 0.06 AS out_of_remit,
       CASE WHEN a.sector = 'voluntary' AND x.r_flag >= 0.02 AND x.r_flag < 0.06
            THEN CASE WHEN x.r_flag < 0.04 THEN '["excluded_activity"]'
                      ELSE '["urgency"]' END
            ELSE '[]' END::jsonb AS remit_reasons,
       CASE WHEN a.sector = 'voluntary' AND x.r_flag >= 0.02 AND x.r_flag < 0.06
            THEN (%(overrides)s::text[])[1 + floor(x.r_text * 3)::int] ELSE '' END
           AS override_reason,
       -- Interim cover for a social-care referral made some 2 to 14 days earlier.
       CASE WHEN a.sector = 'voluntary' AND x.r_flag >= 0.07 AND x.r_flag < 0.13
            THEN x.g - floor(%(rows_per_day)s * (2 + x.r_episode * 12))::bigint END
           AS cover_target,
       NULL::bigint AS interim_cover_for_id
FROM (
    SELECT g,
           -- Referrals grow over the two years (twice as many a day at the end as at the
           -- start): the inverse of that distribution, with a jitter that keeps the order.
           %(start)s::timestamptz
               + (sqrt(1 + 3 * (g - 0.5 + (random() - 0.5) * 0.9) / %(rows)s) - 1)
                 * %(span)s::interval AS referred_at,
           %(patient_min)s + floor(random() * %(patients)s)::bigint AS patient_id,
           1 + floor(random() * %(teams)s)::int AS team,
           random() AS r_sector, random() AS r_status, random() AS r_urgency,
           random() AS r_source, random() AS r_dest, random() AS r_user, random() AS r_need,
           random() AS r_need2, random() AS r_count, random() AS r_decide,
           random() AS r_contact, random() AS r_episode, random() AS r_flag, random() AS r_text
    FROM generate_series(%(lo)s, %(hi)s) g
    OFFSET 0
) x
CROSS JOIN LATERAL (
    SELECT CASE WHEN x.r_sector < {health_share} THEN 'health'
                WHEN x.r_sector < {statutory_share} THEN 'social_care'
                ELSE 'voluntary' END AS sector,
           (%(team_place_index)s::int[])[x.team] AS place_index,
           extract(epoch FROM %(now)s::timestamptz - x.referred_at) / 86400 AS age_days
) a
CROSS JOIN LATERAL (
    SELECT {status} AS status,
           CASE WHEN a.sector = 'voluntary'
                THEN a.place_index * {services_per_place} + 1
                     + floor({services_per_place} * x.r_dest * x.r_dest)::int END AS svc,
           1 + floor(x.r_need * 8)::int AS k1,
           CASE WHEN x.r_count < 0.5 THEN 1 WHEN x.r_count < 0.85 THEN 2 ELSE 3 END AS n
) b
CROSS JOIN LATERAL (
    SELECT CASE a.sector
               WHEN 'voluntary' THEN (ARRAY[
                   (%(svc_needs)s::text[])[b.svc][1 + (b.k1 - 1) %% 4],
                   (%(svc_needs)s::text[])[b.svc][1 + (b.k1 + floor(x.r_need2 * 2)::int) %% 4]
               ])[1:least(b.n, 2)]
               ELSE (ARRAY[
                   w.pool[b.k1],
                   w.pool[1 + (b.k1 + floor(x.r_need2 * 3)::int) %% 8],
                   w.pool[1 + (b.k1 + 3 + floor(x.r_need2 * 9)::int %% 3) %% 8]
               ])[1:b.n]
           END AS needs
    FROM (SELECT CASE WHEN a.sector = 'health' THEN %(health_needs)s::text[]
                      ELSE %(social_care_needs)s::text[] END AS pool) w
) c
CROSS JOIN LATERAL (
    SELECT least(x.referred_at + CASE WHEN a.sector = 'voluntary'
                                      THEN 1 + x.r_decide ^ 2 * 95
                                      ELSE 1 + x.r_decide ^ 2 * 239 END
                                 * interval '1 hour',
                 %(now)s::timestamptz) AS decided
) d
CROSS JOIN LATERAL (
    SELECT CASE WHEN b.status IN ('accepted', 'in_progress', 'closed', 'declined')
                THEN d.decided END AS decided_at,
           CASE WHEN b.status IN ('in_progress', 'closed')
                THEN least(d.decided + CASE a.sector WHEN 'voluntary' THEN x.r_contact ^ 2 * 240
                                                     WHEN 'social_care' THEN x.r_contact ^ 2 * 720
                                                     ELSE x.r_contact ^ 2 * 336 END
                                       * interval '1 hour',
                           %(now)s::timestamptz) END AS first_contact_at,
           CASE WHEN b.status = 'withdrawn'
                THEN least(x.referred_at + (0.2 + x.r_episode * 20) * interval '1 day',
                           %(now)s::timestamptz) END AS withdrawn_at
) e
CROSS JOIN LATERAL (
    SELECT e.decided_at, e.first_contact_at, e.withdrawn_at,
           -- Episodes of one to sixteen weeks: wellbeing co-ordination allows twelve.
           CASE WHEN b.status = 'closed'
                THEN least(e.first_contact_at
                           + CASE WHEN a.sector = 'voluntary' THEN 7 + x.r_episode ^ 1.5 * 105
                                  ELSE 3 + x.r_episode * 60 END * interval '1 day',
                           %(now)s::timestamptz) END AS closed_at
) t
"""

# Interim cover: the newest social-care referral in the days before the target that had not
# yet been seen when the voluntary referral was made, and the same patient.
_COVER_SQL = """
UPDATE bench_stage v
SET interim_cover_for_id = s.id, patient_id = s.patient_id
FROM bench_stage w
CROSS JOIN LATERAL (
    SELECT s.id, s.patient_id
    FROM bench_stage s
    WHERE s.id <= w.cover_target AND s.id > w.cover_target - %(rows_per_day)s
      AND s.destination_sector = 'social_care'
      AND coalesce(s.first_contact_at, s.closed_at, s.withdrawn_at, 'infinity') > w.referred_at
    ORDER BY s.id DESC
    LIMIT 1
) s
WHERE w.cover_target IS NOT NULL AND v.id = w.id
"""

_COLUMNS = (
    "id, referred_at, patient_id, referrer_id, referrer_organisation_id, place_id, source, "
    "destination_sector, organisation_id, service_id, needs, activities, urgency, reason, "
    "status, decided_at, decline_reason, first_contact_at, closed_at, outcome, withdrawn_at, "
    "withdrawal_reason, statutory_declined_by_id, statutory_decline_reason, out_of_remit, "
    "remit_reasons, override_reason, interim_cover_for_id"
)
_INSERT_SQL = f"""
INSERT INTO {{referral}} ({_COLUMNS}, lawful_basis, lawful_basis_reason, created_at,
                         updated_at, created_by_id, version)
SELECT {_COLUMNS}, CASE WHEN destination_sector = 'voluntary' THEN 'consent' ELSE '' END, '',
       referred_at,
       greatest(referred_at, decided_at, first_contact_at, closed_at, withdrawn_at),
       referrer_id, 1
FROM bench_stage
ORDER BY id
"""

# Concerns raised by VSOs on about 1% of voluntary referrals and a quarter of interim covers,
# addressed to the statutory service covered for, the one that declined, or the referrer.
_CONCERNS_SQL = """
INSERT INTO {concern} (created_at, updated_at, severity, description, raised_at, acknowledge_by,
                       acknowledged_at, resolved_at, resolution, version, acknowledged_by_id,
                       addressed_to_id, created_by_id, raised_by_id, raised_by_organisation_id,
                       referral_id, resolved_by_id, updated_by_id, referral_organisation_id,
                       referral_referrer_id, referral_referrer_organisation_id)
SELECT k.raised_at, coalesce(res.at, ack.at, k.raised_at), k.severity,
       'Still waiting for the statutory visit; our volunteer is at the limit of the '
       || 'specification.', k.raised_at, k.raised_at + k.ack_window, ack.at, res.at,
       CASE WHEN res.at IS NOT NULL THEN 'Visit arranged; cover handed back.' ELSE '' END, 1,
       CASE WHEN ack.at IS NOT NULL THEN duty.id END, k.addressed_to, lead.id, lead.id,
       r.organisation_id, r.id, CASE WHEN res.at IS NOT NULL THEN duty.id END, lead.id,
       -- The copies the concern's trigger keeps, which the replica role skips.
       r.organisation_id, r.referrer_id, r.referrer_organisation_id
FROM {referral} r
LEFT JOIN {referral} s ON s.id = r.interim_cover_for_id
CROSS JOIN LATERAL (
    SELECT greatest(r.referred_at, least(r.referred_at + (1 + r.id %% 14) * interval '1 day',
                                         %(now)s::timestamptz - interval '1 hour')) AS raised_at,
           (ARRAY['low','low','low','low','moderate','moderate','moderate','high','high',
                  'critical'])[1 + r.id %% 10] AS severity,
           (ARRAY[interval '5 days', interval '5 days', interval '5 days', interval '5 days',
                  interval '2 days', interval '2 days', interval '2 days', interval '1 day',
                  interval '1 day', interval '4 hours'])[1 + r.id %% 10] AS ack_window,
           coalesce(s.organisation_id, r.statutory_declined_by_id, r.referrer_organisation_id)
               AS addressed_to
) k
CROSS JOIN LATERAL (
    SELECT u.id FROM {user} u WHERE u.organisation_id = r.organisation_id AND u.role = 'vso_lead'
    ORDER BY u.id LIMIT 1
) lead
CROSS JOIN LATERAL (
    SELECT u.id FROM {user} u WHERE u.organisation_id = k.addressed_to ORDER BY u.id LIMIT 1
) duty
-- Most acknowledged in time, some late, some not at all.
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.at <= %(now)s::timestamptz THEN c.at END AS at
    FROM (SELECT CASE WHEN r.id / 7 %% 20 < 13 THEN k.raised_at + k.ack_window * 0.5
                      WHEN r.id / 7 %% 20 < 16 THEN k.raised_at + k.ack_window * 2.5 END AS at) c
) ack
CROSS JOIN LATERAL (
    SELECT CASE WHEN ack.at + interval '3 days' <= %(now)s::timestamptz AND r.id / 3 %% 2 = 0
                THEN ack.at + interval '3 days' END AS at
) res
WHERE r.destination_sector = 'voluntary'
  AND (r.id %% 97 = 0 OR (r.interim_cover_for_id IS NOT NULL AND r.id %% 4 = 0))
"""

# "At the limit of our remit" on about 0.5% of voluntary referrals, quoting the version in force.
_MARKS_SQL = """
INSERT INTO {mark} (created_at, updated_at, clause, clause_text, note, marked_at, created_by_id,
                    marked_by_id, referral_id, specification_id, updated_by_id)
SELECT m.at, m.at, m.clause,
       CASE m.clause
           WHEN 'capacity' THEN 'Monthly capacity: '
                || coalesce(spec.monthly_capacity::text, 'no set limit')
           WHEN 'episode_length' THEN 'Longest episode: '
                || coalesce(spec.max_episode_weeks::text, 'no set') || ' weeks'
           WHEN 'excluded_activity' THEN 'Activities excluded: '
                || array_to_string(spec.activities_excluded, ', ')
           WHEN 'urgency' THEN 'Highest urgency accepted: ' || spec.max_urgency
           ELSE 'Longest interim cover: '
                || coalesce(spec.max_interim_cover_days::text, 'no set') || ' days'
       END, '', m.at, lead.id, lead.id, r.id, spec.id, lead.id
FROM {referral} r
JOIN LATERAL (
    SELECT s.id, s.monthly_capacity, s.max_episode_weeks, s.activities_excluded, s.max_urgency,
           s.max_interim_cover_days
    FROM {specification} s
    WHERE s.service_id = r.service_id AND s.status IN ('active', 'retired')
      AND s.starts_on <= (r.referred_at AT TIME ZONE %(tz)s)::date
      AND (r.referred_at AT TIME ZONE %(tz)s)::date <= coalesce(s.ends_on, 'infinity'::date)
    ORDER BY s.version DESC
    LIMIT 1
) spec ON true
CROSS JOIN LATERAL (
    SELECT (ARRAY['capacity','episode_length','excluded_activity','urgency','interim_cover'])
               [1 + r.id / 211 %% 5] AS clause,
           least(r.referred_at + interval '1 day', %(now)s::timestamptz) AS at
) m
CROSS JOIN LATERAL (
    SELECT u.id FROM {user} u WHERE u.organisation_id = r.organisation_id AND u.role = 'vso_lead'
    ORDER BY u.id LIMIT 1
) lead
WHERE r.destination_sector = 'voluntary' AND r.id %% 211 = 0
"""


def referrals_generate(*, rows: int, today: date, world: dict, say=print) -> dict:
    """Patients, referrals, concerns and remit marks; returns counts and seconds per step."""
    now = timezone.now()
    start = day_start(today - timedelta(days=DAYS))
    patients = min(max(rows // 2, 1), MAX_PATIENTS)
    tables = {
        "patient": Patient._meta.db_table,
        "consent": Consent._meta.db_table,
        "referral": Referral._meta.db_table,
        "concern": Concern._meta.db_table,
        "mark": RemitLimitMark._meta.db_table,
        "specification": ServiceSpecification._meta.db_table,
        "user": User._meta.db_table,
    }
    existing = set(connection.introspection.table_names())
    stage_sql = _STAGE_SQL.format(
        voluntary_urgency=_case("x.r_urgency", URGENCY["voluntary"]),
        statutory_urgency=_case("x.r_urgency", URGENCY["statutory"]),
        health_share=HEALTH_SHARE,
        statutory_share=HEALTH_SHARE + SOCIAL_CARE_SHARE,
        status=_status_case(),
        services_per_place=SERVICES_PER_PLACE,
    )
    seconds, counts = {}, {}
    with connection.cursor() as cursor:
        # Superuser only: skips the history triggers (one event row per insert) and the
        # foreign key triggers for this session's bulk load.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SELECT setseed(0.2026)")

        started = time.perf_counter()
        cursor.execute(
            _PATIENTS_SQL.format(**tables),
            {"patients": patients, "born_from": date(1926, 1, 1), "today": today, "now": now},
        )
        cursor.execute(_CONSENTS_SQL.format(**tables), {"today": today, "now": now})
        cursor.execute(f"SELECT min(id) FROM {tables['patient']}")
        patient_min = cursor.fetchone()[0]
        seconds["patients"] = time.perf_counter() - started
        counts["patients"] = patients
        say(f"  {patients:,} patients in {seconds['patients']:.1f} s")

        params = {
            **world,
            "start": start,
            "span": timedelta(days=DAYS),
            "rows": rows,
            "rows_per_day": rows / DAYS,
            "now": now,
            "patient_min": patient_min,
            "patients": patients,
            "teams": len(world["team_org"]),
            "other_sources": OTHER_SOURCES,
            "statutory_activities": STATUTORY_ACTIVITIES,
            "health_needs": HEALTH_NEEDS,
            "social_care_needs": SOCIAL_CARE_NEEDS,
            "reasons": REASONS,
            "decline_reasons": DECLINE_REASONS,
            "outcomes": OUTCOMES,
            "withdrawal_reasons": WITHDRAWAL_REASONS,
            "overrides": OVERRIDES,
        }
        started = time.perf_counter()
        for lo in range(1, rows + 1, CHUNK):
            hi = min(lo + CHUNK - 1, rows)
            chunk_started = time.perf_counter()
            cursor.execute("DROP TABLE IF EXISTS bench_stage")
            cursor.execute(stage_sql, {**params, "lo": lo, "hi": hi})
            cursor.execute("ALTER TABLE bench_stage ADD PRIMARY KEY (id)")
            cursor.execute(_COVER_SQL, {"rows_per_day": max(1, round(rows / DAYS))})
            cursor.execute(_INSERT_SQL.format(**tables))
            cursor.execute("DROP TABLE bench_stage")
            say(f"  referrals {lo:,} to {hi:,} in {time.perf_counter() - chunk_started:.1f} s")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{tables['referral']}', 'id'), %s)", [rows]
        )
        seconds["referrals"] = time.perf_counter() - started
        counts["referrals"] = rows

        started = time.perf_counter()
        if tables["concern"] in existing:
            cursor.execute(_CONCERNS_SQL.format(**tables), {"now": now})
            counts["concerns"] = cursor.rowcount
        if tables["mark"] in existing:
            cursor.execute(_MARKS_SQL.format(**tables), {"now": now, "tz": "Europe/London"})
            counts["remit_marks"] = cursor.rowcount
        seconds["concerns_and_marks"] = time.perf_counter() - started
        cursor.execute("RESET session_replication_role")
        cursor.execute("RESET synchronous_commit")
        cursor.execute("RESET work_mem")
    return {"seconds": seconds, "counts": counts}


def referrals_describe() -> dict:
    """What was generated, to check it against docs/domain.md and the brief."""
    table = Referral._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*),
                   round(100.0 * count(*) FILTER (WHERE destination_sector = 'health')
                         / count(*), 1),
                   round(100.0 * count(*) FILTER (WHERE destination_sector = 'social_care')
                         / count(*), 1),
                   round(100.0 * count(*) FILTER (WHERE destination_sector = 'voluntary')
                         / count(*), 1),
                   min(referred_at), max(referred_at),
                   count(*) FILTER (WHERE interim_cover_for_id IS NOT NULL),
                   count(*) FILTER (WHERE out_of_remit),
                   count(*) FILTER (WHERE statutory_declined_by_id IS NOT NULL),
                   count(*) FILTER (WHERE place_id IS NULL),
                   pg_size_pretty(pg_total_relation_size('{table}'))
            FROM {table}
            """
        )
        row = cursor.fetchone()
        cursor.execute(
            f"SELECT status, count(*) FROM {table} GROUP BY status ORDER BY count(*) DESC"
        )
        statuses = dict(cursor.fetchall())
        # How well the physical order follows referred_at (1.0 is perfect): what BRIN needs.
        cursor.execute(
            "SELECT correlation FROM pg_stats WHERE tablename = %s AND attname = 'referred_at'",
            [table],
        )
        correlation = cursor.fetchone()
    first, last = row[4], row[5]
    return {
        "referrals": row[0],
        "percent": {"health": row[1], "social_care": row[2], "voluntary": row[3]},
        "first": first.isoformat() if isinstance(first, datetime) else str(first),
        "last": last.isoformat() if isinstance(last, datetime) else str(last),
        "interim_cover": row[6],
        "out_of_remit": row[7],
        "statutory_declined_first": row[8],
        "no_place": row[9],
        "table_size": row[10],
        "statuses": statuses,
        "referred_at_correlation": correlation[0] if correlation else None,
    }
