"""The period and scope of the outcomes ("added value") pages."""

from datetime import date

from django import forms
from django.utils import timezone

from accounts.models import Role
from commissioning.models import Organisation, Place, Sector, Service
from commissioning.selectors import (
    organisations_visible_to,
    places_visible_to,
    services_visible_to,
)
from core.plausible import check_period_day
from core.widgets import DateInput


class AddedValueForm(forms.Form):
    """A commissioner chooses any place, voluntary organisation or service of their system; a
    VSO lead only among their own organisation's services."""

    date_from = forms.DateField(
        label="Episodes started from",
        widget=DateInput(),
        error_messages={
            "required": "Enter the first day of the period.",
            "invalid": "The first day of the period must be a real date, such as 1 4 2026.",
        },
    )
    date_to = forms.DateField(
        label="To",
        widget=DateInput(),
        error_messages={
            "required": "Enter the last day of the period.",
            "invalid": "The last day of the period must be a real date, such as 31 3 2027.",
        },
    )
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

    def clean_date_from(self) -> date:
        return check_period_day(
            self.cleaned_data["date_from"], today=timezone.localdate(), what="The first day"
        )

    def clean_date_to(self) -> date:
        return check_period_day(
            self.cleaned_data["date_to"], today=timezone.localdate(), what="The last day"
        )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The period ends before it starts.")
        organisation, service = cleaned.get("organisation"), cleaned.get("service")
        if organisation and service and service.organisation_id != organisation.pk:
            self.add_error("service", f"{service.name} is not a service of {organisation.name}.")
        return cleaned
