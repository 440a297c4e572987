"""The period and scope of the outcomes ("added value") pages."""

from django import forms

from accounts.models import Role
from commissioning.models import Organisation, Place, Sector, Service
from commissioning.selectors import (
    organisations_visible_to,
    places_visible_to,
    services_visible_to,
)
from core.forms import PeriodForm


class AddedValueForm(PeriodForm):
    """A commissioner chooses any place, voluntary organisation or service of their system; a
    VSO lead only among their own organisation's services."""

    place = forms.ModelChoiceField(
        queryset=Place.objects.none(), required=False, empty_label="Every place"
    )
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="Every voluntary organisation",
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="Every service"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_from"].label = "Episodes started from"
        services = (
            services_visible_to(user).filter(organisation__sector=Sector.VOLUNTARY).order_by("name")
        )
        if user.role == Role.COMMISSIONER:
            self.fields["place"].queryset = places_visible_to(user)
            self.fields["organisation"].queryset = organisations_visible_to(user).filter(
                sector=Sector.VOLUNTARY
            )
        else:
            # A lead's own organisation is the scope already; places are not theirs to compare.
            del self.fields["place"], self.fields["organisation"]
            services = services.filter(organisation_id=user.organisation_id)
        self.fields["service"].queryset = services

    def clean(self):
        cleaned = super().clean()
        organisation, service = cleaned.get("organisation"), cleaned.get("service")
        if organisation and service and service.organisation_id != organisation.pk:
            self.add_error("service", f"{service.name} is not a service of {organisation.name}.")
        return cleaned
