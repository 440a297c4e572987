import re
from datetime import date, timedelta
from typing import Any

import django_filters
import nhs_number
from django import forms
from django.utils import timezone

from accounts.models import User
from accounts.selectors import system_id_of
from commissioning.codes import Urgency
from commissioning.forms import CodeChoiceField, flat_need_choices, need_choices
from commissioning.models import Organisation, Place, Sector, Service
from commissioning.selectors import places_visible_to
from core.dates import day_start
from core.forms import PlainTextOnly, SaysWhatToDo
from core.plausible import check_birth_date, check_period_day, check_referral_date
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


class PatientDetailsForm(PlainTextOnly, forms.Form):
    """A new patient's details, ignored when the NHS number finds an existing patient; the
    date of birth also confirms an existing patient the referrer has not referred before."""

    date_of_birth = forms.DateField(
        required=False,
        widget=DateInput(),
        help_text="Confirms who the patient is. Needed unless your team has referred them before.",
        error_messages={"invalid": "Enter a real date of birth, such as 17/05/1938."},
    )
    given_name = forms.CharField(max_length=100, required=False)
    family_name = forms.CharField(max_length=100, required=False)
    postcode = forms.CharField(max_length=8, required=False)
    lives_alone = forms.BooleanField(required=False)
    is_carer = forms.BooleanField(label="Is a carer", required=False)
    is_cared_for = forms.BooleanField(label="Is cared for", required=False)

    def clean_date_of_birth(self):
        born = self.cleaned_data.get("date_of_birth")
        if not born:
            return born
        return check_birth_date(born, today=timezone.localdate(), what="The date of birth")

    def clean_postcode(self):
        raw = (self.cleaned_data.get("postcode") or "").strip().upper()
        if not raw:
            return raw
        match = UK_POSTCODE.match(raw)
        if not match:
            raise forms.ValidationError("Enter a UK postcode, such as LS1 4AP.")
        return f"{match[1]} {match[2]}"

    @property
    def new_patient_open(self) -> bool:
        """The new patient's details start open when they hold something typed or an error,
        so nothing typed is hidden after a failed send."""
        return _holds_input(self, ("given_name", "family_name", "postcode", "lives_alone",
                                   "is_carer", "is_cared_for"))  # fmt: skip


def _holds_input(form: forms.Form, names: tuple[str, ...]) -> bool:
    return form.is_bound and any(form[name].errors or form[name].value() for name in names)


# Where the referral goes decides which fields count: the others are ignored, whatever they hold,
# so that a field the page hides (or one filled in before the sector changed) never refuses or
# changes the referral. Health and social care receive the details for direct care, so the
# sharing fields are the voluntary sector's alone.
VOLUNTARY_ONLY = ("service", "lawful_basis", "consent_method", "lawful_basis_reason")
STATUTORY_ONLY = ("organisation",)


class ReferralForm(PlainTextOnly, forms.Form):
    """The intake form, in the order the page asks: who, where to, what for.

    What the service is asked to do (activities) is chosen from the needs: by default all of
    them; once the remit check offers it, only some (docs/referrals.md#new-referral)."""

    nhs_number = NhsNumberField(
        error_messages={"required": "Enter the patient's 10-digit NHS number."}
    )
    # The one-time token (referrals.services.referral_intake): made when the form is first
    # shown, sent back with every re-display, so a second send of the same form is known.
    submission = forms.UUIDField(widget=forms.HiddenInput, required=False)
    destination_sector = forms.ChoiceField(
        label="Refer to",
        choices=Sector.choices,
        initial=Sector.VOLUNTARY,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={"required": "Choose where the patient is referred to."},
    )
    service = forms.ModelChoiceField(
        label="Voluntary service",
        queryset=Service.objects.filter(
            organisation__sector=Sector.VOLUNTARY, organisation__active=True, status="active"
        ).select_related("organisation"),
        required=False,
        empty_label="Choose a service…",
    )
    consent_method = forms.ChoiceField(
        label="The patient's consent to share their details",
        choices=[("", "Consent already on record"), *CHOSEN_METHODS],
        required=False,
    )
    lawful_basis = forms.ChoiceField(
        label="Sharing the patient's details rests on",
        choices=CHOSEN_BASES,
        initial=LawfulBasis.CONSENT,
        widget=forms.RadioSelect,
        required=False,
        help_text="A voluntary organisation needs the patient's consent or another lawful basis.",
    )
    lawful_basis_reason = forms.CharField(
        label="Why the details are shared without consent",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    organisation = forms.ModelChoiceField(
        label="Health or social care organisation",
        queryset=Organisation.objects.exclude(sector=Sector.VOLUNTARY).filter(active=True),
        required=False,
        empty_label="Choose an organisation…",
    )
    needs = CodeChoiceField(
        label="What the patient needs",
        error_messages={"required": "Choose at least one thing the patient needs."},
    )
    urgency = forms.ChoiceField(
        choices=Urgency.choices,
        initial=Urgency.ROUTINE,
        error_messages={"required": "Choose how urgent the referral is."},
    )
    source = forms.ChoiceField(
        label="Referred by",
        choices=ReferralSource.choices,
        initial=ReferralSource.ICC,
        error_messages={"required": "Choose who the referral comes from."},
    )
    place = forms.ModelChoiceField(
        label="Place",
        queryset=Place.objects.order_by("name"),
        required=False,
        empty_label="Not given",
    )
    reason = forms.CharField(
        label="Reason for referral", widget=forms.Textarea(attrs={"rows": 2}), required=False
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
    activities = CodeChoiceField(label="Ask the service for", required=False)
    # Sent with the activities' checkboxes, so that unticking them all is told apart from
    # never having narrowed them.
    activities_narrowed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    override_reason = forms.CharField(
        label="Why this referral must go although it is outside the service's remit",
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
        # The service is asked only for needs ticked above: any other code is refused.
        ticked = set(self.data.getlist("needs")) if hasattr(self.data, "getlist") else set()
        fields["activities"].choices = [
            (code, label) for code, label in flat_need_choices() if code in ticked
        ]
        fields["service"].label_from_instance = (
            lambda service: f"{service.name} ({service.organisation.name})"
        )

    def clean(self):
        cleaned = super().clean()
        sector = cleaned.get("destination_sector")
        ignored = STATUTORY_ONLY if sector == Sector.VOLUNTARY else VOLUNTARY_ONLY
        for name in ignored if sector else ():
            self.errors.pop(name, None)
            cleaned[name] = self.fields[name].clean(None)
        if sector == Sector.VOLUNTARY:
            if not cleaned.get("service"):
                self.add_error("service", "Choose the voluntary service from the directory.")
            else:
                cleaned["organisation"] = cleaned["service"].organisation
        elif sector and not cleaned.get("organisation"):
            self.add_error("organisation", "Choose the organisation you are referring to.")
        self._clean_activities(cleaned)
        reference = (cleaned.get("interim_cover_for") or "").strip()
        cleaned["interim_cover_for"] = None
        if reference:
            pk = Referral.pk_from_reference(reference)
            if pk is None:
                self.add_error(
                    "interim_cover_for",
                    "Enter the reference of the waiting referral, such as R-000123.",
                )
            else:
                cleaned["interim_cover_for_pk"] = pk
        return cleaned

    def _clean_activities(self, cleaned: dict[str, Any]) -> None:
        """What the service is asked to do: every need unless narrowed to some of them."""
        if "activities" in self.errors or "needs" not in cleaned:
            return
        if cleaned.get("activities"):
            return
        if cleaned.get("activities_narrowed"):
            self.add_error(
                "activities", "Choose at least one of the patient's needs to ask the service for."
            )
            return
        cleaned["activities"] = list(cleaned["needs"])

    @property
    def without_consent_open(self) -> bool:
        """Sharing without consent starts open once chosen, or holding a reason or an error."""
        if not self.is_bound:
            return False
        chosen = self["lawful_basis"].value()
        return (
            chosen not in (None, "", LawfulBasis.CONSENT)
            or bool(self["lawful_basis"].errors)
            or _holds_input(self, ("lawful_basis_reason",))
        )

    @property
    def gaps_open(self) -> bool:
        return _holds_input(
            self, ("statutory_declined_by", "statutory_decline_reason", "interim_cover_for")
        )


class ConsentForm(PlainTextOnly, forms.Form):
    """A patient's decision about sharing, recorded from a referral's page."""

    decision = forms.ChoiceField(
        choices=ConsentDecision.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether the patient gave or withdrew consent."},
    )
    method = forms.ChoiceField(
        label="How",
        choices=[("", "Choose…"), *CHOSEN_METHODS],
        error_messages={"required": "Choose how the patient told you."},
    )
    decided_on = forms.DateField(
        label="On",
        widget=DateInput(),
        error_messages={
            "required": "Enter the date the patient told you.",
            "invalid": "The date the patient told you must be a real date, such as 23 11 2026.",
        },
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_decided_on(self):
        return check_referral_date(
            self.cleaned_data["decided_on"], today=timezone.localdate(), what="The date"
        )


class DecisionForm(PlainTextOnly, forms.Form):
    """Carries the version the person saw, so a change made meanwhile is not overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class _FilterForm(SaysWhatToDo, forms.Form):
    def clean_referred_from(self):
        day = self.cleaned_data.get("referred_from")
        return (
            check_period_day(day, today=timezone.localdate(), what="Referred from") if day else day
        )

    def clean_referred_to(self):
        day = self.cleaned_data.get("referred_to")
        return (
            check_period_day(day, today=timezone.localdate(), what="Referred up to") if day else day
        )


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReferralStatus.choices, empty_label="Any status")
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices, empty_label="Any urgency")
    destination_sector = django_filters.ChoiceFilter(
        label="Sector", choices=Sector.choices, empty_label="Any sector"
    )
    place = django_filters.ModelChoiceFilter(
        queryset=lambda request: places_visible_to(request.user), empty_label="Any place"
    )
    # As ranges of referred_at rather than of its date, so that the list's index bounds them
    # (referred_at::date is computed row by row, and read every row before the range).
    referred_from = django_filters.DateFilter(
        label="Referred from", method="filter_referred_from", widget=DateInput()
    )
    referred_to = django_filters.DateFilter(
        label="Referred up to", method="filter_referred_to", widget=DateInput()
    )

    def filter_referred_from(self, queryset, name, value):
        # Before 1900 is every referral: and 0001-01-01 in UK time is not a UTC date.
        return (
            queryset.filter(referred_at__gte=day_start(value)) if value.year >= 1900 else queryset
        )

    def filter_referred_to(self, queryset, name, value):
        if value >= date(9999, 1, 1):  # every referral; the day after 9999-12-31 is no date
            return queryset
        return queryset.filter(referred_at__lt=day_start(value + timedelta(days=1)))

    class Meta:
        model = Referral
        fields = ["status", "urgency", "destination_sector", "place"]
        form = _FilterForm


class ConcernForm(PlainTextOnly, forms.Form):
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


class ConcernActionForm(PlainTextOnly, forms.Form):
    """Acknowledge or resolve: carries the version the person saw, and where to go back to."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    next = forms.CharField(widget=forms.HiddenInput, required=False)


class ConcernReplyForm(PlainTextOnly, forms.Form):
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
