from django import forms
from django.core.exceptions import ValidationError

from core.forms import add_service_errors


class Referral(forms.Form):
    urgency = forms.CharField()


class Patient(forms.Form):
    postcode = forms.CharField()


def test_each_error_goes_beside_its_field_on_whichever_form_has_it():
    referral, patient = Referral({}), Patient({})
    referral.is_valid(), patient.is_valid()

    add_service_errors(
        referral,
        ValidationError({"urgency": "Too high.", "postcode": "Not a postcode.", "x": "Other."}),
        patient,
    )

    assert referral.errors["urgency"][-1] == "Too high."
    assert patient.errors["postcode"][-1] == "Not a postcode."
    assert referral.non_field_errors() == ["Other."]


def test_an_error_naming_no_field_goes_at_the_top():
    referral = Referral({"urgency": "soon"})
    referral.is_valid()

    add_service_errors(referral, ValidationError("Only someone in an organisation can do this."))

    assert referral.non_field_errors() == ["Only someone in an organisation can do this."]
