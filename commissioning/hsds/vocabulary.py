"""What the export and the import share: our vocabulary, status spellings and public ids."""

import uuid

from commissioning.codes import ServiceStatus

# The vocabulary our need codes are published under. The ids derived below are public: consumers
# link taxonomy terms, attributes and areas by them, so the namespace and the names fed to uuid5
# must never change.
NEEDS_VOCABULARY = "vsocare-needs"
HSDS_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:vsocare:hsds")
NEEDS_TAXONOMY_ID = uuid.uuid5(HSDS_NAMESPACE, NEEDS_VOCABULARY)

# HSDS spells one status with a space; the others are the same words as ours.
HSDS_STATUSES: dict[ServiceStatus, str] = {
    ServiceStatus.ACTIVE: "active",
    ServiceStatus.INACTIVE: "inactive",
    ServiceStatus.DEFUNCT: "defunct",
    ServiceStatus.TEMPORARILY_CLOSED: "temporarily closed",
}
STATUSES_FROM_HSDS: dict[str, ServiceStatus] = {
    hsds: ours for ours, hsds in HSDS_STATUSES.items()
} | {
    # Our own spelling is unambiguous, so a file written by hand with it is not refused.
    ours.value: ours
    for ours in ServiceStatus
}

# org-id.guide's scheme for the Charity Commission for England and Wales.
CHARITY_SCHEME = "GB-CHC"


def need_term_id(code: str) -> uuid.UUID:
    return uuid.uuid5(HSDS_NAMESPACE, f"{NEEDS_VOCABULARY}/{code}")


def derived_id(*parts: object) -> str:
    """The id of something we publish but do not store (a phone, an area, an attribute)."""
    return str(uuid.uuid5(HSDS_NAMESPACE, "/".join(str(part) for part in parts)))
