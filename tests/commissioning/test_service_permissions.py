"""The commissioning services check who may act, whatever calls them."""

import pytest
from django.core.exceptions import PermissionDenied

from commissioning.codes import SpecificationStatus
from commissioning.services import organisation_listing_update, specification_publish
from tests.factories import ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db


def test_only_commissioners_and_administrators_publish_specifications(red_cross_lead, red_cross):
    draft = SpecificationFactory(
        service=ServiceFactory(organisation=red_cross), status=SpecificationStatus.DRAFT
    )

    with pytest.raises(PermissionDenied):
        specification_publish(specification=draft, user=red_cross_lead)


def test_a_lead_edits_only_their_own_organisations_listing(other_lead, red_cross):
    with pytest.raises(PermissionDenied):
        organisation_listing_update(
            organisation=red_cross,
            user=other_lead,
            expected_updated_at=red_cross.updated_at,
            description="Not ours.",
        )
