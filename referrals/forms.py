import re
from typing import Any

import django_filters
import nhs_number
from django import forms
from django.utils import timezone

from accounts.models import User
from accounts.selectors import system_id_of
from commissioning.codes import Urgency
from commissioning.forms import CodeChoiceField, need_choices
from commissioning.models import Organisation, Place, Sector, Service
from commissioning.selectors import places_visible_to
from core.widgets import DateInput
from referrals.models import (
    CHOSEN_BASES,
    CHOSEN_METHODS,
    ConcernSeverity,
    ConsentDecision,
    LawfulBasis,
    Referral,
    ReferralSource,
    ReferralStatus,
)
from referrals.selectors_concerns import CONCERN_STATES

UK_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


def clean_nhs_number(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    if not re.fullmatch(r"[0-9]{10}", digits):
        raise forms.ValidationError("An NHS number is 10 digits, such as 999 000 0018.")
    if not nhs_number.is_valid(digits):
        raise forms.ValidationError(
            "This is not a valid NHS number: its check digit does not match. Check each digit."
        )
    return digits


class NhsNumberField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "NHS number")
        kwargs.setdefault("max_length", 14)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value):
        return clean_nhs_number(super().clean(value))


class PatientDetailsForm(forms.Form):
    """A new patient's details, ignored when the NHS number finds an existing patient; the
    date of birth also confirms an existing patient the referrer has not referred before."""

    given_name = forms.CharField(max_length=100, required=False)
    family_name = forms.CharField(max_length=100, required=False)
    date_of_birth = forms.DateField(
        required=False,
        widget=DateInput(),
        help_text="Confirms who the patient is. Needed unless your team has referred them before.",
    )
    postcode = forms.CharField(max_length=8, required=False)
    lives_alone = forms.BooleanField(required=False)
    is_carer = forms.BooleanField(label="Is a carer", required=False)
    is_cared_for = forms.BooleanField(label="Is cared for", required=False)

    def clean_date_of_birth(self):
        born = self.cleaned_data.get("date_of_birth")
        if born and born > timezone.localdate():
            raise forms.ValidationError("The date of birth cannot be in the future.")
        return born

    def clean_postcode(self):
        raw = (self.cleaned_data.get("postcode") or "").strip().upper()
        if not raw:
            return raw
        match = UK_POSTCODE.match(raw)
        if not match:
            raise forms.ValidationError("Enter a UK postcode, such as LS1 4AP.")
        return f"{match[1]} {match[2]}"

    def require_new_patient_details(self) -> None:
        for field in ("given_name", "family_name", "date_of_birth", "postcode"):
            if not self.cleaned_data.get(field) and field not in self.errors:
                self.add_error(field, "Needed for a patient new to VSO Care.")


class ReferralForm(forms.Form):
    nhs_number = NhsNumberField()
    source = forms.ChoiceField(choices=ReferralSource.choices, initial=ReferralSource.ICC)
    destination_sector = forms.ChoiceField(label="Refer to", choices=Sector.choices)
    organisation = forms.ModelChoiceField(
        label="Health or social care organisation",
        queryset=Organisation.objects.exclude(sector=Sector.VOLUNTARY).filter(active=True),
        required=False,
    )
    service = forms.ModelChoiceField(
        label="Voluntary service",
        queryset=Service.objects.filter(
            organisation__sector=Sector.VOLUNTARY, organisation__active=True, status="active"
        ).select_related("organisation"),
        required=False,
    )
    needs = CodeChoiceField(label="What the patient needs")
    activities = CodeChoiceField(label="What you are asking the service to do", required=False)
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.ROUTINE)
    reason = forms.CharField(
        label="Reason for referral", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    place = forms.ModelChoiceField(
        label="Place", queryset=Place.objects.order_by("name"), required=False
    )
    statutory_declined_by = forms.ModelChoiceField(
        label="A statutory service declined or disputed this first",
        queryset=Organisation.objects.exclude(sector=Sector.VOLUNTARY),
        required=False,
        empty_label="No",
    )
    statutory_decline_reason = forms.CharField(
        label="Why they declined or disputed it",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    interim_cover_for = forms.CharField(
        label="Interim cover for the waiting statutory referral (reference, such as R-000123)",
        required=False,
        max_length=12,
    )
    override_reason = forms.CharField(
        label="Why this referral must go although it is outside the service's remit",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    lawful_basis = forms.ChoiceField(
        label="Sharing the patient's details rests on",
        choices=CHOSEN_BASES,
        initial=LawfulBasis.CONSENT,
        widget=forms.RadioSelect,
        required=False,
        help_text="Needed for a voluntary organisation. Health and social care receive the "
        "details for direct care.",
    )
    consent_method = forms.ChoiceField(
        label="How the patient agreed today",
        choices=[("", "Consent already on record"), *CHOSEN_METHODS],
        required=False,
    )
    lawful_basis_reason = forms.CharField(
        label="Why the details are shared without consent",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the referrer's own system: another system's organisation, service or place,
        # forged into the form, is refused at its field.
        system_id = system_id_of(user)
        fields: dict[str, Any] = self.fields
        for name in ("organisation", "statutory_declined_by"):
            fields[name].queryset = fields[name].queryset.filter(system_id=system_id)
        fields["service"].queryset = fields["service"].queryset.filter(
            organisation__system_id=system_id
        )
        fields["place"].queryset = places_visible_to(user)
        fields["needs"].choices = need_choices()
        fields["activities"].choices = need_choices()
        fields["service"].label_from_instance = (
            lambda service: f"{service.name} ({service.organisation.name})"
        )

    def clean(self):
        cleaned = super().clean()
        sector = cleaned.get("destination_sector")
        if sector == Sector.VOLUNTARY:
            if not cleaned.get("service"):
                self.add_error("service", "Choose the voluntary service from the directory.")
            else:
                cleaned["organisation"] = cleaned["service"].organisation
        elif sector and not cleaned.get("organisation"):
            self.add_error("organisation", "Choose the organisation you are referring to.")
        elif sector:
            cleaned["service"] = None
        reference = (cleaned.get("interim_cover_for") or "").strip()
        cleaned["interim_cover_for"] = None
        if reference:
            pk = Referral.pk_from_reference(reference)
            if pk is None:
                self.add_error("interim_cover_for", "Give a reference such as R-000123.")
            else:
                cleaned["interim_cover_for_pk"] = pk
        return cleaned


class ConsentForm(forms.Form):
    """A patient's decision about sharing, recorded from a referral's page."""

    decision = forms.ChoiceField(
        choices=ConsentDecision.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether the patient gave or withdrew consent."},
    )
    method = forms.ChoiceField(
        label="How",
        choices=[("", "Choose…"), *CHOSEN_METHODS],
        error_messages={"required": "Say how the patient told you."},
    )
    decided_on = forms.DateField(
        label="On", widget=DateInput(), error_messages={"required": "Give the date."}
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class DecisionForm(forms.Form):
    """Carries the version the person saw, so a change made meanwhile is not overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReferralStatus.choices, empty_label="Any status")
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices, empty_label="Any urgency")
    destination_sector = django_filters.ChoiceFilter(
        label="Sector", choices=Sector.choices, empty_label="Any sector"
    )
    place = django_filters.ModelChoiceFilter(
        queryset=lambda request: places_visible_to(request.user), empty_label="Any place"
    )
    referred_from = django_filters.DateFilter(
        label="Referred from",
        field_name="referred_at",
        lookup_expr="date__gte",
        widget=DateInput(),
    )
    referred_to = django_filters.DateFilter(
        label="Referred up to",
        field_name="referred_at",
        lookup_expr="date__lte",
        widget=DateInput(),
    )

    class Meta:
        model = Referral
        fields = ["status", "urgency", "destination_sector", "place"]


class ConcernForm(forms.Form):
    """Raise a concern; the organisations offered are those involved in the referral, and each
    severity says its deadline in the referral's system."""

    severity = forms.ChoiceField(error_messages={"required": "Choose how serious the concern is."})
    addressed_to = forms.TypedChoiceField(
        label="Addressed to",
        coerce=int,
        error_messages={"required": "Choose the organisation that must answer it."},
    )
    description = forms.CharField(
        label="What is the concern?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what the concern is."},
    )

    def __init__(self, *args, addressees, deadlines, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].choices = [("", "Choose…")] + [
            (value, f"{label}: to be acknowledged within {deadlines[value]}")
            for value, label in ConcernSeverity.choices
        ]
        self.organisations = {organisation.pk: organisation for organisation, _ in addressees}
        self.fields["addressed_to"].choices = [("", "Choose…")] + [
            (organisation.pk, f"{organisation.name} ({why})") for organisation, why in addressees
        ]

    def clean_addressed_to(self):
        return self.organisations[self.cleaned_data["addressed_to"]]


class ConcernActionForm(forms.Form):
    """Acknowledge or resolve: carries the version the person saw, and where to go back to."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    next = forms.CharField(widget=forms.HiddenInput, required=False)


class ConcernReplyForm(forms.Form):
    """A message to the other side of a concern; `next` is where to go back to."""

    text = forms.CharField(
        max_length=2000,
        error_messages={
            "required": "Write the reply.",
            "max_length": "Keep the reply to 2000 characters.",
        },
    )
    next = forms.CharField(widget=forms.HiddenInput, required=False)


class ConcernListForm(forms.Form):
    state = forms.ChoiceField(
        label="Show", choices=list(CONCERN_STATES.items()), required=False, initial="all"
    )
