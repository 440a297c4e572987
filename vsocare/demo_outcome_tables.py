"""The fixed tables the demo's episodes of wellbeing co-ordination are planned from: Table 1, Box 1
and Box 2 of the Torbay evaluation (seed 004), per sub-group, and the words the episodes are
written with. vsocare.demo_outcome_plans draws the clients from them.

Every figure below is the paper's, so that the commissioners' "Added value" section shows, on a
fresh demo, the pattern Torbay found: wellbeing rising most for the mental health and caregiver
groups, goals met nine times in ten, and costs falling for the mental health group while they
rise steeply for people who are declining or at the end of life.
"""

from dataclasses import dataclass

from commissioning.codes import NeedGroup
from commissioning.instruments import Measure
from referrals.models import ReferralSource, Subgroup

SEED = 2018  # the year the Torbay co-ordinators' first clients were followed up
# Far from the story's patients (100,000 upwards) and the factories' (0 upwards).
NHS_INDEX_BASE = 200_000
EXTERNAL_ID_PREFIX = "demo-wbc-"
STAR_VERSION = "motivational_7"
# Episodes start within this many days of today: inside the dashboard's default period (this
# year to yesterday) for most of the year, as Torbay's clients were its first six months'.
WINDOW_DAYS = 182
# Torbay's co-ordinators worked with people "for up to 12 weeks": most episodes end after 8 to 12.
ENDED_WEEKS = (8, 12)

G = NeedGroup
M = Measure
S = Subgroup


@dataclass(frozen=True)
class GroupTable:
    """One row of Table 1, with Box 1's size and what the demo writes for the group."""

    subgroup: str
    people: int
    ages: tuple[int, int]  # youngest and oldest
    # Means before and after: WEMWBS total, PAM score, Outcomes Star total, Rockwood scale.
    wemwbs: tuple[float, float]
    pam: tuple[float, float]
    star: tuple[float, float]
    rockwood: tuple[float, float]
    goals_per_person: float
    goals_met: float  # the share met
    # How many inputs of each kind the group had (Table 1's inputs per person times its people,
    # shared out so that the whole cohort has Box 2's mix).
    inputs: dict[str, int]
    cost: tuple[int, int]  # mean £ in the 12 months before and after
    carers: int
    cared_for: int
    needs: list[list[str]]  # the referrals' needs, within the service's remit
    reasons: list[str]
    outcomes: list[str]
    goals: list[str]


GROUPS = [
    GroupTable(
        S.MENTAL_HEALTH, 5, (52, 68),
        wemwbs=(23, 43), pam=(34, 58), star=(16, 41), rockwood=(4.75, 3.75),
        goals_per_person=4.4, goals_met=0.91,
        inputs={G.PRACTICAL: 4, G.SOCIAL: 4, G.CARE_COORDINATION: 7, G.MENTAL_HEALTH: 10},
        cost=(9149, 2894), carers=0, cared_for=0,
        needs=[["mental_health_support"], ["mental_health_support", "care_coordination"]],
        reasons=[
            "Low mood and chronic pain; has spoken of not wanting to go on. Waiting for the "
            "mental health team.",
            "Anxious and not leaving the house; several A&E visits this year.",
            "No settled address; waiting for a mental health referral and needs someone to "
            "keep in touch.",
        ],
        outcomes=[
            "Mood better; now seen by the mental health team and goes to a weekly walking group.",
            "Goals met; knows whom to call on a bad day.",
        ],
        goals=[
            "Get a referral to the community mental health team",
            "Walk to the seafront twice a week",
            "Sleep through the night more often",
            "Find a pain management group",
            "Sort out a safe place to live",
            "Have someone to speak to on a bad day",
            "Get back in touch with my sister",
        ],
    ),
    GroupTable(
        S.CAREGIVER, 9, (60, 88),
        wemwbs=(36, 50), pam=(45, 69), star=(31, 50), rockwood=(3.89, 3.00),
        goals_per_person=3.3, goals_met=0.83,
        inputs={G.PRACTICAL: 9, G.SOCIAL: 11, G.CARE_COORDINATION: 5, G.MENTAL_HEALTH: 16},
        cost=(2800, 3434), carers=5, cared_for=0,
        needs=[["caregiver_support"], ["caregiver_support", "mental_health_support"],
               ["mental_health_support"]],
        reasons=[
            "Caring for her husband with dementia and exhausted.",
            "Recently bereaved after years of caring; not coping.",
            "Caring for his wife after her stroke; no break in months.",
        ],
        outcomes=[
            "Carer's assessment done and a weekly break arranged.",
            "Goes to the bereavement group and back at the choir.",
        ],
        goals=[
            "Have a break from caring one afternoon a week",
            "Get a carer's assessment",
            "Sort out the paperwork after the funeral",
            "Join a bereavement group",
            "Go back to the choir",
            "Manage the household money on my own",
        ],
    ),
    GroupTable(
        S.SOCIAL, 11, (64, 92),
        wemwbs=(43, 51), pam=(60, 74), star=(27, 41), rockwood=(4.33, 3.22),
        goals_per_person=3.1, goals_met=0.93,
        inputs={G.PRACTICAL: 12, G.SOCIAL: 11, G.CARE_COORDINATION: 9, G.MENTAL_HEALTH: 1},
        cost=(810, 2430), carers=1, cared_for=0,
        needs=[["befriending"], ["housing_paperwork"], ["befriending", "social_prescription"],
               ["social_prescription"]],
        reasons=[
            "Lonely since moving to the area; sees nobody most days.",
            "Letters unopened; behind on rent and needs help with a benefits claim.",
            "Falling out with family and would like to get out more.",
        ],
        outcomes=[
            "Matched with a befriender; goes to a lunch club each week.",
            "Benefits claimed and the housing repair booked.",
        ],
        goals=[
            "Go to the lunch club once a week",
            "Have a befriender visit",
            "Get the benefits I am entitled to",
            "Get the damp in the flat repaired",
            "Make one new friend",
            "See my grandchildren more often",
        ],
    ),
    GroupTable(
        S.MOBILISING, 7, (66, 94),
        wemwbs=(46, 53), pam=(57, 71), star=(32, 50), rockwood=(5.00, 3.86),
        goals_per_person=3.3, goals_met=0.96,
        inputs={G.PRACTICAL: 15, G.SOCIAL: 6, G.CARE_COORDINATION: 4, G.MENTAL_HEALTH: 2},
        cost=(1441, 1731), carers=0, cared_for=1,
        needs=[["care_coordination"], ["care_coordination", "befriending"],
               ["housing_paperwork", "care_coordination"]],
        reasons=[
            "Parkinson's; fell twice this winter and has stopped going out.",
            "Home from intermediate care after a stroke; frightened of falling again.",
            "Anaemia and falls risk; cannot manage the stairs to the bathroom.",
        ],
        outcomes=[
            "Rails and a pendant alarm in place; walks to the shop again.",
            "Back at the Parkinson's group with community transport.",
        ],
        goals=[
            "Walk to the post office again",
            "Get rails fitted by the front door",
            "Get to the Parkinson's group",
            "Feel safe getting in and out of the bath",
            "Use my bus pass again",
            "Get a pendant alarm",
        ],
    ),
    GroupTable(
        S.DECLINING, 10, (70, 96),
        wemwbs=(38, 45), pam=(50, 66), star=(27, 45), rockwood=(4.44, 3.67),
        goals_per_person=3.0, goals_met=0.96,
        inputs={G.PRACTICAL: 14, G.SOCIAL: 10, G.CARE_COORDINATION: 11, G.MENTAL_HEALTH: 2},
        cost=(1515, 14794), carers=0, cared_for=3,
        needs=[["care_coordination"], ["care_coordination", "housing_paperwork"],
               ["care_coordination", "caregiver_support"]],
        reasons=[
            "Declining quickly after intermediate care; several services and nobody joining "
            "them up.",
            "Third hospital stay this year; family cannot keep up with the appointments.",
            "Complex needs and struggling at home; social care assessment under way.",
        ],
        outcomes=[
            "Care joined up with the GP and social care; handed back to the ICC.",
            "Moved to a care home with the family's agreement; support ended.",
        ],
        goals=[
            "Have one person joining up my care",
            "Stay in my own home",
            "Get my medicines delivered",
            "Have the stairlift assessed",
            "Keep going to church",
            "Have help with the garden",
        ],
    ),
    GroupTable(
        S.END_OF_LIFE, 9, (68, 99),
        wemwbs=(38, 40), pam=(41, 44), star=(25, 38), rockwood=(5.44, 5.78),
        goals_per_person=2.4, goals_met=0.95,
        inputs={G.PRACTICAL: 15, G.SOCIAL: 10, G.CARE_COORDINATION: 5, G.MENTAL_HEALTH: 5},
        cost=(7375, 19365), carers=0, cared_for=2,
        needs=[["care_coordination", "caregiver_support"], ["care_coordination"],
               ["care_coordination", "mental_health_support"]],
        reasons=[
            "Receiving end-of-life care at home; wants help to put affairs in order.",
            "Palliative since the summer; wife caring alone and tired.",
            "Terminal diagnosis; wants to stay at home with support around him.",
        ],
        outcomes=[
            "Died at home as she wished, with her family and the hospice team around her.",
            "Affairs in order and family supported; died peacefully in the hospice.",
        ],
        goals=[
            "Stay at home to the end",
            "Put my affairs in order",
            "See my son before it is too late",
            "Make a will",
            "Have my wishes written down",
            "Get the garden tidy for the family",
        ],
    ),
]  # fmt: skip

# A few episodes still running, and one or two longer than the specification allows, so that
# the open episodes list and its overrun flag show something.
RUNNING: dict[str, int] = {S.CAREGIVER: 1, S.SOCIAL: 1, S.DECLINING: 1}
RUNNING_OVERRUN: dict[str, int] = {S.MOBILISING: 1}
ENDED_OVERRUN: dict[str, int] = {S.DECLINING: 1}

# Ended episodes with a baseline and no follow-up: Table 1's "missing 4", "miss. 3", "miss. 2".
MISSING_FOLLOW_UP: dict[str, dict[str, int]] = {
    M.PAM: {S.END_OF_LIFE: 2, S.DECLINING: 1, S.SOCIAL: 1},
    M.OUTCOMES_STAR: {S.END_OF_LIFE: 1, S.CAREGIVER: 1, S.MOBILISING: 1},
    M.ROCKWOOD: {S.END_OF_LIFE: 1, S.SOCIAL: 1},
}

# Where Torbay's 49 referrals came from (voluntary sector 14, the hub 14, primary care 9, family
# or self 5, social care 5, a residential home and a paramedic), with two more for 51 people.
SOURCES = [
    (ReferralSource.VOLUNTARY_SECTOR, 14),
    (ReferralSource.MDT_HUB, 15),
    (ReferralSource.GP, 10),
    (ReferralSource.SELF_OR_FAMILY, 5),
    (ReferralSource.SOCIAL_CARE, 5),
    (ReferralSource.RESIDENTIAL_HOME, 1),
    (ReferralSource.PARAMEDIC, 1),
]

# Box 2: which needs each kind of input was, weighted by how often (home help 27, equipment 18,
# housing and paperwork 14, transport 6; befriender 24, social prescription 16, caregiver 8).
INPUT_NEEDS: dict[str, list[tuple[str, int]]] = {
    G.PRACTICAL: [("home_help", 27), ("equipment", 18), ("housing_paperwork", 14),
                  ("transport", 6)],
    G.SOCIAL: [("befriending", 24), ("social_prescription", 16), ("caregiver_support", 8)],
    G.CARE_COORDINATION: [("care_coordination", 9), ("hospital_discharge_support", 1)],
    G.MENTAL_HEALTH: [("mental_health_support", 3), ("bereavement_support", 1)],
}  # fmt: skip
# need -> (fewest, most) minutes an input of it took, and what the co-ordinator wrote.
INPUT_WORK: dict[str, tuple[int, int, str]] = {
    "home_help": (45, 120, "Home help arranged with a local volunteer group."),
    "equipment": (30, 90, "Rails, a key safe and a perching stool requested."),
    "housing_paperwork": (45, 120, "Helped with the attendance allowance form."),
    "transport": (60, 180, "Community transport booked to clinic."),
    "befriending": (30, 60, "Referred to a befriender."),
    "social_prescription": (30, 75, "Went along to the lunch club together."),
    "caregiver_support": (45, 90, "Talked through respite and the carers' group."),
    "care_coordination": (20, 60, "Liaised with the GP, community nurses and social care."),
    "hospital_discharge_support": (60, 120, "Settled home on the day of discharge."),
    "mental_health_support": (45, 90, "Confidence and mood session at home."),
    "bereavement_support": (45, 90, "Bereavement support visit."),
}

# (weight, urgency): the wellbeing service takes up to urgent.
URGENCIES = [("routine", 55), ("soon", 40), ("urgent", 5)]

# Torbay's sample was 33 women and 16 men: each name once, two women to a man. Surnames from
# the South West, none in the story's list, so nobody here shares a name with a story patient.
WOMEN = [
    "Ada", "Agnes", "Annie", "Barbara", "Betty", "Carol", "Dorothy", "Eileen", "Ethel", "Evelyn",
    "Florence", "Gladys", "Grace", "Irene", "Ivy", "Joyce", "June", "Kathleen", "Lilian",
    "Margaret", "Mary", "Muriel", "Nancy", "Nora", "Patricia", "Peggy", "Rita", "Rose",
    "Ruby", "Shirley", "Sylvia", "Vera", "Violet", "Wendy",
]  # fmt: skip
MEN = [
    "Alan", "Arthur", "Brian", "Colin", "David", "Eric", "Ernest", "George", "Harry", "Jack",
    "John", "Keith", "Michael", "Peter", "Reginald", "Walter", "William",
]  # fmt: skip
SURNAMES = [
    "Ashcombe", "Axworthy", "Bellringer", "Bowden", "Brimblecombe", "Carnforth", "Chudleigh",
    "Coaker", "Dunmore", "Dyment", "Elphick", "Eveleigh", "Fairweather", "Furzeland",
    "Gidley", "Gillham", "Hollingworth", "Ivens", "Jellicoe", "Jewell", "Kettlewell", "Kitto",
    "Larkworthy", "Luscombe", "Meadowcroft", "Mudge", "Northam", "Nutbeam", "Penhallow",
    "Pidgeon", "Quarrington", "Rendle", "Rowse", "Shapland", "Tapper", "Trethewey", "Uglow",
    "Vallance", "Vosper", "Widger", "Winsor", "Yabsley", "Abbiss", "Coombes",
    "Endacott", "Glanville", "Hamlyn", "Hosking", "Knapman", "Pengelly", "Tregaskis",
]  # fmt: skip
