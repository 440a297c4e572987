from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms

from accounts.models import User
from commissioning.codes import Urgency
from commissioning.instruments import STAR_VERSION_CHOICES
from commissioning.models import (
    SPECIFICATION_FIELDS,
    CommissioningFramework,
    Organisation,
    OutcomeMeasure,
    Place,
    Sector,
    Service,
    ServiceSpecification,
)
from commissioning.need_cache import group_label, need_rows
from commissioning.selectors import places_visible_to
from commissioning.services import LISTING_FIELDS
from commissioning.validation import specification_errors
from core.forms import SaysWhatToDo
from core.widgets import DateInput


def need_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Needs grouped as docs/domain.md groups them, for grouped checkboxes and selects."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, label, group in need_rows():
        groups.setdefault(group_label(group), []).append((code, label))
    return list(groups.items())


def flat_need_choices() -> list[tuple[str, str]]:
    return [(code, label) for code, label, _ in need_rows()]


def outcome_choices() -> list[tuple[str, str]]:
    return list(OutcomeMeasure.objects.values_list("code", "label"))


class CodeChoiceField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


STALE_PAGE = "This page is out of date: reload it, then make your changes again."


class StaleCheckMixin(forms.Form):
    """Carries the version of the record the person opened, so a later save can tell if
    someone else saved in between."""

    updated_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._editing:
            self.fields["updated_at"].initial = self.instance.updated_at  # type: ignore[attr-defined]

    @property
    def _editing(self) -> bool:
        instance = getattr(self, "instance", None)
        return instance is not None and instance.pk is not None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Without the version it was opened at, a save could overwrite someone else's unseen.
        if self._editing and cleaned.get("updated_at") is None:
            self.add_error(None, STALE_PAGE)
        return cleaned


class DirectorySearchForm(SaysWhatToDo, forms.Form):
    text = forms.CharField(label="Search", required=False, max_length=200)
    need = forms.ChoiceField(label="Need", required=False)
    place = forms.ModelChoiceField(
        label="Place", queryset=Place.objects.order_by("name"), required=False,
        empty_label="Any place",
    )  # fmt: skip
    age = forms.IntegerField(label="Patient's age", required=False, min_value=0, max_value=120)
    sector = forms.ChoiceField(
        label="Sector", required=False, choices=[("", "Any sector"), *Sector.choices]
    )
    include_closed = forms.BooleanField(
        label="Include inactive and defunct services", required=False
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["need"].choices = [("", "Any need"), *need_choices()]  # type: ignore[attr-defined]
        self.fields["place"].queryset = places_visible_to(user)  # type: ignore[attr-defined]


class FrameworkForm(SaysWhatToDo, StaleCheckMixin, forms.ModelForm):
    outcome_measures = CodeChoiceField(label="Outcome measures VSOs must report", required=False)

    class Meta:
        model = CommissioningFramework
        fields = ["name", "objectives", "outcome_measures", "starts_on", "ends_on"]
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
            "objectives": forms.Textarea(attrs={"rows": 5}),
        }
        error_messages = {
            "name": {"required": "Enter the framework's name."},
            "objectives": {"required": "Enter what the framework sets out to achieve."},
            "starts_on": {
                "required": "Enter the date the framework starts.",
                "invalid": "The date the framework starts must be a real date, such as 1 4 2026.",
            },
            "ends_on": {
                "invalid": "The date the framework ends must be a real date, such as 31 3 2027."
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome_measures"].choices = outcome_choices()

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error(
                "ends_on", "Enter an end date on or after the date the framework starts."
            )
        return cleaned


class SpecificationForm(SaysWhatToDo, StaleCheckMixin, forms.ModelForm):
    activities_in_remit = CodeChoiceField(label="Activities in remit", required=False)
    activities_excluded = CodeChoiceField(
        label="Activities excluded",
        required=False,
        help_text="Work the service must not be asked to do, such as personal care.",
    )
    outcome_measures = CodeChoiceField(label="Outcome measures to report", required=False)
    max_urgency = forms.ChoiceField(label="Highest urgency accepted", choices=Urgency.choices)

    class Meta:
        model = ServiceSpecification
        fields = list(SPECIFICATION_FIELDS)
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
            "eligibility": forms.Textarea(attrs={"rows": 3}),
        }
        error_messages = {
            "framework": {"required": "Choose the framework this service is commissioned under."},
            "starts_on": {
                "required": "Enter the date the contract starts.",
                "invalid": "The date the contract starts must be a real date, such as 1 4 2026.",
            },
            "ends_on": {
                "invalid": "The date the contract ends must be a real date, such as 31 3 2027."
            },
            # Said here: the generic message would lower-case the Star's name.
            "outcomes_star_version": {
                "invalid_choice": "Choose one of the versions of the Outcomes Star listed."
            },
        }

    def __init__(self, *args, system=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("activities_in_remit", "activities_excluded"):
            self.fields[name].choices = need_choices()
        self.fields["outcome_measures"].choices = outcome_choices()
        self.fields["outcomes_star_version"].choices = [
            ("", "None: the Outcomes Star is not one of the measures"),
            *STAR_VERSION_CHOICES,
        ]
        if system is not None:
            self.fields["framework"].queryset = CommissioningFramework.objects.filter(system=system)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "updated_at",
            Fieldset(
                "Who it is for",
                "framework",
                "eligibility",
                "not_eligible_for_social_care",
                Row(Column("min_age"), Column("max_age")),
            ),
            Fieldset(
                "What the service does and does not do",
                Row(Column("activities_in_remit"), Column("activities_excluded")),
            ),
            Fieldset(
                "Limits",
                Row(Column("max_urgency"), Column("monthly_capacity")),
                Row(
                    Column("max_episode_weeks"),
                    Column("response_target_hours"),
                    Column("max_interim_cover_days"),
                ),
            ),
            Fieldset(
                "Outcomes and contract",
                "outcome_measures",
                "outcomes_star_version",
                Row(Column("funding_gbp"), Column("starts_on"), Column("ends_on")),
            ),
        )

    def clean(self):
        cleaned = super().clean()
        # The same checks the file import makes, so both give the same words.
        for field, messages in specification_errors(cleaned).items():
            for message in messages:
                if field in self.fields and field not in self.errors:
                    self.add_error(field, message)
        return cleaned

    def _post_clean(self):
        # Saving goes through the service, which owns versioning; skip ModelForm's
        # instance validation, which would check constraints on a half-built version.
        pass


class ListingForm(SaysWhatToDo, StaleCheckMixin, forms.ModelForm):
    class Meta:
        model = Organisation
        fields = list(LISTING_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "dbs_checks_expire_on": DateInput(),
            "insurance_expires_on": DateInput(),
            "safeguarding_policy_review_on": DateInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)


class ServiceListingForm(SaysWhatToDo, StaleCheckMixin, forms.ModelForm):
    needs = CodeChoiceField(label="Needs this service meets", required=False)

    class Meta:
        model = Service
        fields = [
            "name",
            "description",
            "needs",
            "places",
            "eligibility",
            "min_age",
            "max_age",
            "status",
            "url",
            "email",
            "phone",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "eligibility": forms.Textarea(attrs={"rows": 3}),
            "places": forms.CheckboxSelectMultiple,
        }
        help_texts = {"places": "Leave all unticked if the service covers the whole system."}
        labels = {"min_age": "Minimum age", "max_age": "Maximum age", "url": "Website"}
        error_messages = {"name": {"required": "Enter the service's name."}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["needs"].choices = need_choices()
        self.fields["places"].queryset = Place.objects.filter(
            system_id=self.instance.organisation.system_id
        )

    def clean(self):
        cleaned = super().clean()
        min_age, max_age = cleaned.get("min_age"), cleaned.get("max_age")
        if min_age is not None and max_age is not None and max_age < min_age:
            self.add_error(
                "max_age", f"Enter a maximum age of at least the minimum age ({min_age})."
            )
        return cleaned
