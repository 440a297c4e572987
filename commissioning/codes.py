"""The shared code lists (docs/domain.md#code-lists) that every screen, import, export and
report uses.

Needs/activities and outcome measures are tables (administrators may add codes); the ordered or
structural lists are fixed choices, because reports compare them (urgency) or HSDS defines them
(service status).
"""

from django.db import models


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    SOON = "soon", "Soon"
    URGENT = "urgent", "Urgent"
    EMERGENCY = "emergency", "Emergency"

    @classmethod
    def rank(cls, value: str) -> int:
        """routine < soon < urgent < emergency, as 1..4."""
        return cls.values.index(value) + 1


class ServiceStatus(models.TextChoices):
    # As Open Referral / HSDS 3.0, whose own spelling of the last is "temporarily closed".
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DEFUNCT = "defunct", "Defunct"
    TEMPORARILY_CLOSED = "temporarily_closed", "Temporarily closed"


class SpecificationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class NeedGroup(models.TextChoices):
    PRACTICAL = "practical", "Practical support"
    SOCIAL = "social", "Social isolation"
    CARE_COORDINATION = "care_coordination", "Care co-ordination"
    MENTAL_HEALTH = "mental_health", "Mental health support"
    STATUTORY = "statutory", "Usually statutory work, not commissioned from VSOs"


# (code, label, group): the needs and activities every installation starts with.
STARTING_NEEDS = [
    ("home_help", "Home help", NeedGroup.PRACTICAL),
    ("equipment", "Prevention and equipment", NeedGroup.PRACTICAL),
    ("housing_paperwork", "Housing and paperwork", NeedGroup.PRACTICAL),
    ("transport", "Transport", NeedGroup.PRACTICAL),
    ("shopping", "Shopping", NeedGroup.PRACTICAL),
    ("prescription_collection", "Prescription collection", NeedGroup.PRACTICAL),
    ("befriending", "Befriending", NeedGroup.SOCIAL),
    ("social_prescription", "Social prescription", NeedGroup.SOCIAL),
    ("caregiver_support", "Caregiver support", NeedGroup.SOCIAL),
    ("digital_inclusion", "Digital inclusion", NeedGroup.SOCIAL),
    ("care_coordination", "Care co-ordination", NeedGroup.CARE_COORDINATION),
    ("hospital_discharge_support", "Hospital discharge support", NeedGroup.CARE_COORDINATION),
    ("mental_health_support", "Mental health support", NeedGroup.MENTAL_HEALTH),
    ("bereavement_support", "Bereavement support", NeedGroup.MENTAL_HEALTH),
    ("personal_care", "Personal care", NeedGroup.STATUTORY),
    ("clinical_task", "Clinical task", NeedGroup.STATUTORY),
    ("emergency_response", "Emergency response", NeedGroup.STATUTORY),
]

# (code, label, scoring): as commissioned in Torbay.
STARTING_OUTCOME_MEASURES = [
    ("wemwbs", "Warwick-Edinburgh Mental Wellbeing Scale", "14 items scored 1-5, total 14-70"),
    ("pam", "Patient Activation Measure", "13 items, score 0-100, level 1-4"),
    ("outcomes_star", "Outcomes Star", "7 domains scored 1-10"),
    ("rockwood", "Rockwood Clinical Frailty Scale", "1 (very fit) to 9 (terminally ill)"),
    ("goals", "Goals", "number set, number met"),
    (
        "swemwbs",
        "Short Warwick-Edinburgh Mental Wellbeing Scale",
        "7 items scored 1-5, converted to a metric score 7.00-35.00",
    ),
]


def add_starting_codes(need_model, outcome_measure_model) -> None:
    """Create the starting codes that are missing; never changes a code a commissioner edited.

    Takes the model classes so that the data migration can pass its historical models.
    """
    for position, (code, label, group) in enumerate(STARTING_NEEDS, start=1):
        need_model.objects.get_or_create(
            code=code, defaults={"label": label, "group": group, "position": position * 10}
        )
    for position, (code, label, scoring) in enumerate(STARTING_OUTCOME_MEASURES, start=1):
        outcome_measure_model.objects.get_or_create(
            code=code, defaults={"label": label, "scoring": scoring, "position": position * 10}
        )
