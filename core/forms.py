from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.forms.utils import pretty_name
from django.utils import timezone

from core.plausible import DESCRIPTION_MAX_LENGTH, check_period_day, check_text
from core.widgets import DateInput

UNLIMITED = 2**31


def add_service_errors(form: forms.Form, error: ValidationError, *others: forms.Form) -> None:
    """Put a service's ValidationError beside the fields it names, on whichever of the forms
    has the field; the rest go at the top of the first."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, field_errors in error.message_dict.items():
        owner = next((f for f in (form, *others) if name in f.fields), None)
        (owner or form).add_error(name if owner else None, field_errors)


def _question(field: forms.Field, name: str) -> str:
    """The field's label as it reads mid-sentence: "Minimum age" becomes "minimum age", but
    "DBS checks valid until" keeps its capitals."""
    label = str(field.label or pretty_name(name))
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def _messages_for(field: forms.Field, question: str) -> dict[str, str]:
    """What to do, in the GOV.UK manner, for each way the field can be wrong."""
    said = question[:1].upper() + question[1:]
    if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        required = f"Choose at least one of: {question}."
    elif isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        required = f"Choose the {question}."
    elif isinstance(field, forms.BooleanField):
        required = f"Tick the box: {question}."
    elif isinstance(field, forms.DateField):
        required = f"Enter the date: {question}."
    else:
        required = f"Enter the {question}."
    found = {
        "required": required,
        "invalid_choice": f"Choose one of the options listed for {question}.",
        "invalid_list": f"Choose one or more of the options listed for {question}.",
        "invalid_pk_value": f"Choose one of the options listed for {question}.",
        "min_value": f"{said} must be %(limit_value)s or more.",
        "max_value": f"{said} must be %(limit_value)s or less.",
        "max_length": f"{said} must be %(limit_value)d characters or fewer.",
    }
    if isinstance(field, forms.DateField):
        found["invalid"] = f"{said} must be a real date, such as 23 11 2026."
    elif isinstance(field, forms.IntegerField) and not isinstance(field, forms.DecimalField):
        found["invalid"] = f"{said} must be a whole number, such as 12."
    elif isinstance(field, forms.DecimalField | forms.FloatField):
        found["invalid"] = f"{said} must be a number, such as 1500.50."
    elif isinstance(field, forms.EmailField):
        found["invalid"] = "Enter an email address in the correct format, such as name@example.org."
    elif isinstance(field, forms.URLField):
        found["invalid"] = "Enter a web address in the correct format, such as https://example.org."
    return found


def _django_defaults(field: forms.Field) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for kind in reversed(type(field).__mro__):
        defaults.update(getattr(kind, "default_error_messages", {}))
    return defaults


class SaysWhatToDo(forms.BaseForm):
    """Replaces Django's generic messages ("This field is required.", "Enter a valid date.")
    with ones that say what to do at this field, built from its label, as the GOV.UK design
    system asks. A message the form or model sets itself is kept. Its text fields take plain
    text only (PlainTextOnly)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        say_what_to_do(self)
        refuse_control_characters(self)


def say_what_to_do(form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        defaults = _django_defaults(field)
        codes = {getattr(validator, "code", None) for validator in field.validators}
        for key, message in _messages_for(field, _question(field, name)).items():
            own = field.error_messages.get(key)
            if (own is None and key in codes) or (own is not None and own == defaults.get(key)):
                field.error_messages[key] = message


class PlainText:
    """A text field's value holds no control character (a tab or line break only where the
    field has several lines) and is not too long: core.plausible's rule, the imports' too."""

    def __init__(self, *, max_length: int, multiline: bool) -> None:
        self.max_length, self.multiline = max_length, multiline

    def __call__(self, value: object) -> None:
        # A CharField's subclasses clean to other types (UUIDField to a UUID): text only.
        if isinstance(value, str):
            check_text(value, max_length=self.max_length, multiline=self.multiline)


def refuse_control_characters(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        if not isinstance(field, forms.CharField):
            continue
        # Django's own refuses only NUL, in words that do not say where; this says where.
        field.validators = [
            validator
            for validator in field.validators
            if not isinstance(validator, ProhibitNullCharactersValidator | PlainText)
        ]
        field.validators.append(
            PlainText(
                # A field with a max_length says so itself: one message, not two.
                max_length=UNLIMITED if field.max_length else DESCRIPTION_MAX_LENGTH,
                multiline=isinstance(field.widget, forms.Textarea),
            )
        )


class PlainTextOnly(forms.BaseForm):
    """Every text field of the form refuses control characters and over-long text, with a
    message that says where (core.plausible)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        refuse_control_characters(self)


class PeriodForm(forms.Form):
    """A report's period, whole days from and to: the dashboard's, the "Added value" pages' and
    any report page's, so that each says the same about the same bad dates."""

    date_from = forms.DateField(
        label="From",
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

    def clean_date_from(self) -> date:
        return check_period_day(
            self.cleaned_data["date_from"], today=timezone.localdate(), what="The first day"
        )

    def clean_date_to(self) -> date:
        return check_period_day(
            self.cleaned_data["date_to"], today=timezone.localdate(), what="The last day"
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The period ends before it starts.")
        return cleaned
