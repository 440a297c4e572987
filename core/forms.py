from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.Form, error: ValidationError, *others: forms.Form) -> None:
    """Put a service's ValidationError beside the fields it names, on whichever of the forms
    has the field; the rest go at the top of the first."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, field_errors in error.message_dict.items():
        owner = next((f for f in (form, *others) if name in f.fields), None)
        (owner or form).add_error(name if owner else None, field_errors)
