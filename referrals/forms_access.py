from django import forms

from referrals.forms import NhsNumberField


class AccessLogSearchForm(forms.Form):
    """An administrator's search of the access log, posted so that the NHS number stays out of
    URLs, and so out of web server logs and browser history."""

    nhs_number = NhsNumberField(
        help_text="The patient's NHS number, such as 999 000 0018.",
        error_messages={"required": "Enter the patient's NHS number."},
    )
    page = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
