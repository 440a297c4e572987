"""The file format: its name and version, the fields of a record, and what a field left out means.

docs/specification-files.md describes the format field by field; keep the two in step.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from commissioning.codes import SpecificationStatus
from commissioning.models import SPECIFICATION_FIELDS
from commissioning.validation import WHOLE_NUMBER_FIELDS

FORMAT = "vsocare-specifications"
FORMAT_VERSION = 1

# Every field a record may carry, in the order the export writes them: what identifies the
# version (its framework comes first among the content fields), then the content, taken from
# SPECIFICATION_FIELDS so that a field added to specifications is carried in files too.
RECORD_FIELDS: tuple[str, ...] = (
    "organisation",
    "service",
    SPECIFICATION_FIELDS[0],
    "version",
    "status",
    *SPECIFICATION_FIELDS[1:],
)
REQUIRED_FIELDS = ("organisation", "service", "framework", "version", "max_urgency", "starts_on")
NAME_FIELDS = ("organisation", "service", "framework")
CODE_LIST_FIELDS = ("activities_in_remit", "activities_excluded", "outcome_measures")
DATE_FIELDS = ("starts_on", "ends_on")
# What a field left out (or null) means; a record is the whole content of a version.
DEFAULTS: dict[str, object] = {
    "status": SpecificationStatus.DRAFT,
    "eligibility": "",
    "not_eligible_for_social_care": False,
    **dict.fromkeys(WHOLE_NUMBER_FIELDS),
    **{name: [] for name in CODE_LIST_FIELDS},
    "outcomes_star_version": "",
    "funding_gbp": None,
    "ends_on": None,
}
PUBLISHED: tuple[str, ...] = (SpecificationStatus.ACTIVE, SpecificationStatus.RETIRED)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PENCE = Decimal("0.01")


class SpecificationFileError(Exception):
    """A file, or records in it, that cannot be used; nothing was changed."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    """What the import did (or, in a dry run, would have done), as "Org / Service vN" labels."""

    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Versions not in the file that were in force until the file published another.
    retired: list[str] = field(default_factory=list)
