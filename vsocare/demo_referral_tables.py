"""The fixed tables the demo referrals are planned from: how many, to whom, from where, why,
and the texts their lifecycles are written with. The story they tell is in docs/domain.md.
"""

from dataclasses import dataclass

from commissioning.codes import Urgency
from commissioning.models import Sector
from referrals.models import ReferralSource

SEED = 2026
REFERRAL_COUNT = 300
PATIENT_COUNT = 120
# Far from the factories' sequence (0 upwards) and from the numbers tests type in.
NHS_INDEX_BASE = 100_000
WINDOW_DAYS = 548  # about 18 months
DRAWS_PER_REFERRAL = 16
DRAWS_PER_PATIENT = 10
ICC_EMAIL = "icc@eastern-health.example"
RED_CROSS = "Eastern Red Cross Home from Hospital"
RED_CROSS_LEAD = "lead@redcross.example"
RED_CROSS_WORKER = "worker@redcross.example"

# 300 referrals in the study's split: 167 / 396 / 181 is 22.4% / 53.2% / 24.3%.
SECTOR_COUNTS = {Sector.HEALTH: 67, Sector.SOCIAL_CARE: 160, Sector.VOLUNTARY: 73}

HOSPITALS = "Eastern Health Hospitals NHS Foundation Trust"
COMMUNITY = "Eastern Community Health Services"
PCN = "Northbridge Central Primary Care Network"
SOCIAL_CARE = "Eastshire County Council Adult Social Care"
REABLEMENT = "Saltmarsh Reablement Team"
AGE_CONCERN = "Age Concern Eastmoor Befriending"
GOOD_NEIGHBOURS = "Saltmarsh Good Neighbours"
PARISH = "Little Fenwick Parish Council"
WELLBEING = "Northbridge Wellbeing Co-ordination CIC"

U = Urgency

GIVEN_NAMES = [
    "Edna", "Harold", "Doris", "Albert", "Maureen", "Kenneth", "Joan", "Dennis", "Sheila",
    "Ronald", "Brenda", "Derek", "Pauline", "Trevor", "Glenys", "Clifford", "Iris", "Norman",
    "Hilda", "Stanley", "Marjorie", "Gordon", "Beryl", "Leonard", "Winifred", "Raymond",
    "Olive", "Cyril", "Mavis", "Bernard", "Phyllis", "Roy", "Elsie", "Frank", "Jean", "Geoffrey",
]  # fmt: skip
FAMILY_NAMES = [
    "Brackenridge", "Fenwright", "Moorcroft", "Saltram", "Ebbings", "Northcote", "Pettifer",
    "Quennell", "Stanbridge", "Tolland", "Underhill", "Varley", "Wickens", "Yardley",
    "Blakemore", "Cottam", "Dimmock", "Eldridge", "Farrant", "Gosling", "Harbottle", "Inchley",
    "Jessop", "Kimber", "Lumsden", "Mottram", "Nettleton", "Ormerod", "Pickles", "Rawcliffe",
]  # fmt: skip
# Invented postcode areas (no real area is NB, EM or SX) in the valid UK format.
POSTCODE_AREAS = {"Northbridge": "NB", "Eastmoor": "EM", "Saltmarsh Coast": "SX"}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # never C, I, K, M, O or V

# organisation -> needs a referral to it is made for
STATUTORY_NEEDS = {
    HOSPITALS: ["clinical_task", "mental_health_support"],
    COMMUNITY: ["clinical_task", "personal_care", "equipment"],
    PCN: ["clinical_task", "mental_health_support", "social_prescription"],
    SOCIAL_CARE: ["personal_care", "care_coordination", "caregiver_support", "home_help"],
    REABLEMENT: ["personal_care", "equipment", "hospital_discharge_support"],
}
# (choice, weight) pairs
HEALTH_WEIGHTS = [(COMMUNITY, 45), (HOSPITALS, 30), (PCN, 25)]
SOCIAL_CARE_WEIGHTS = [(SOCIAL_CARE, 80), (REABLEMENT, 20)]
VOLUNTARY_WEIGHTS = [
    (RED_CROSS, 30),
    (WELLBEING, 25),
    (AGE_CONCERN, 18),
    (GOOD_NEIGHBOURS, 15),
    (PARISH, 12),
]
STATUTORY_SOURCES = [
    (ReferralSource.GP, 25),
    (ReferralSource.MDT_HUB, 20),
    (ReferralSource.ICC, 20),
    (ReferralSource.SELF_OR_FAMILY, 10),
    (ReferralSource.PARAMEDIC, 8),
    (ReferralSource.SOCIAL_PRESCRIBER, 5),
    (ReferralSource.SOCIAL_CARE, 5),
    (ReferralSource.RESIDENTIAL_HOME, 4),
    (ReferralSource.VOLUNTARY_SECTOR, 3),
]
VOLUNTARY_SOURCES = [
    (ReferralSource.SOCIAL_PRESCRIBER, 25),
    (ReferralSource.ICC, 25),
    (ReferralSource.MDT_HUB, 15),
    (ReferralSource.GP, 15),
    (ReferralSource.SELF_OR_FAMILY, 10),
    (ReferralSource.VOLUNTARY_SECTOR, 5),
    (ReferralSource.SOCIAL_CARE, 5),
]
STATUTORY_URGENCY = [(U.ROUTINE, 35), (U.SOON, 35), (U.URGENT, 25), (U.EMERGENCY, 5)]

NEED_REASONS = {
    "home_help": "Struggling with housework since coming home.",
    "equipment": "Needs rails and a perching stool to stay safe at home.",
    "housing_paperwork": "Letters unopened; needs help with a benefits form.",
    "transport": "No way to get to hospital appointments.",
    "shopping": "Cannot get to the shops; little food in the house.",
    "prescription_collection": "Nobody to collect repeat prescriptions.",
    "befriending": "Lonely since her husband died; sees nobody most days.",
    "social_prescription": "Low mood; would like to join a group.",
    "caregiver_support": "Caring for a spouse with dementia and exhausted.",
    "digital_inclusion": "Wants to video-call family but has no one to show him how.",
    "care_coordination": "Several services involved and nobody joining them up.",
    "hospital_discharge_support": "Going home from the ward with nobody to settle him in.",
    "mental_health_support": "Anxious and not leaving the house.",
    "bereavement_support": "Recently bereaved and not coping.",
    "personal_care": "Cannot wash or dress without help.",
    "clinical_task": "Leg ulcer dressings need changing.",
    "emergency_response": "Fell at home and could not get up.",
}
OUTCOMES: dict[str, list[str]] = {
    Sector.HEALTH: [
        "Assessed; treatment plan agreed with the GP.",
        "Wound healed; discharged from the caseload.",
        "Seen in clinic; follow-up with the practice nurse.",
    ],
    Sector.SOCIAL_CARE: [
        "Care Act assessment completed; package of care in place.",
        "Reablement completed; independent at home.",
        "Assessed: no eligible needs; signposted to the voluntary sector.",
        "Carer's assessment done; respite arranged.",
    ],
    Sector.VOLUNTARY: [
        "Settled at home; shopping and prescriptions arranged until family took over.",
        "Goals met; now goes to a weekly lunch club.",
        "Matched with a befriender; feels less alone.",
        "Care joined up with the GP and social care; handed back to the ICC.",
        "Benefits form sent and a housing repair requested.",
    ],
}
DECLINE_REASONS: dict[str, list[str]] = {
    Sector.HEALTH: ["Not health, it's social care.", "No clinical need identified."],
    Sector.SOCIAL_CARE: [
        "Does not meet Care Act eligibility criteria.",
        "Not social care, it's health: needs a nurse.",
    ],
    Sector.VOLUNTARY: [
        "No volunteer available in the patient's village this month.",
        "Outside our area.",
        "Needs personal care, which our volunteers do not provide.",
        "Patient did not want a volunteer visiting.",
    ],
}
WITHDRAWAL_REASONS = [
    "Patient admitted to hospital.",
    "Family now providing the support.",
    "Patient moved out of the area.",
    "Patient no longer wants the service.",
]

# Waiting for social care: days waited so far (19 is the frail lady of the study).
WAITING_DAYS = [5, 7, 9, 12, 15, 19, 22, 25]
FRAIL_LADY_DAYS = 19


@dataclass(frozen=True)
class Gap:
    """A need declined first by a statutory organisation, and where it went next."""

    declined_by: str
    reason: str
    then_to: str


GAPS_TO_VOLUNTARY = [
    Gap(COMMUNITY, "Not health, it's social care.", RED_CROSS),
    Gap(SOCIAL_CARE, "Does not meet Care Act eligibility criteria.", WELLBEING),
    Gap(SOCIAL_CARE, "Not social care, it's health.", GOOD_NEIGHBOURS),
    Gap(HOSPITALS, "Medically fit for discharge: no further clinical need.", RED_CROSS),
    Gap(
        SOCIAL_CARE,
        "No eligible needs under the Care Act; signposted to the voluntary sector.",
        AGE_CONCERN,
    ),
    Gap(COMMUNITY, "Not a nursing need: practical help only.", PARISH),
]
GAPS_TO_SOCIAL_CARE = [
    Gap(COMMUNITY, "Not health, it's social care.", SOCIAL_CARE),
    Gap(HOSPITALS, "Not health, it's social care.", SOCIAL_CARE),
    Gap(COMMUNITY, "Not health, it's social care: personal care, not nursing.", SOCIAL_CARE),
    Gap(PCN, "Not a GP matter: needs a social care assessment.", SOCIAL_CARE),
]


@dataclass(frozen=True)
class OutOfRemit:
    """A referral sent to a voluntary organisation outside its remit, and why it had to go."""

    organisation: str
    needs: list[str]
    urgency: str
    why: str


OUT_OF_REMIT = [
    OutOfRemit(AGE_CONCERN, ["befriending"], U.URGENT,
     "Recently bereaved and not eating; the mental health team cannot see him for three weeks."),
    OutOfRemit(RED_CROSS, ["home_help", "personal_care"], U.SOON,
     "Social care cannot start a package for 19 days; she cannot wash alone and her daughter is "
     "away."),
    OutOfRemit(GOOD_NEIGHBOURS, ["emergency_response"], U.EMERGENCY,
     "Flooding has cut the village off; the neighbours are the only people who can reach him "
     "tonight."),
    OutOfRemit(PARISH, ["transport"], U.URGENT,
     "Hospital appointment moved to tomorrow and no patient transport is free."),
    OutOfRemit(WELLBEING, ["care_coordination", "clinical_task"], U.SOON,
     "District nurses have no visit this week; the co-ordinator will check the dressings are "
     "done."),
    OutOfRemit(RED_CROSS, ["shopping"], U.EMERGENCY,
     "Discharged late on Friday with no food in the house and nobody else before Monday."),
    OutOfRemit(AGE_CONCERN, ["home_help"], U.ROUTINE,
     "The only service she will let in; she refuses carers from the council."),
]  # fmt: skip
FALLBACK_OVERRIDE = "Agreed with the VSO lead: no statutory service could help in time."
