import re
from datetime import date

from django import forms

from core.forms import PlainTextOnly

MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
# Nothing in VSO Care predates this; it also keeps the datetime arithmetic far from year 1.
EARLIEST_YEAR = 2000


class RemitMonthForm(forms.Form):
    month = forms.CharField(
        label="Month",
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
        help_text="As YYYY-MM, such as 2026-11.",
        error_messages={"required": "Enter a month as YYYY-MM, such as 2026-11."},
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_month(self) -> date:
        match = MONTH.match(self.cleaned_data["month"].strip())
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < EARLIEST_YEAR:
            raise forms.ValidationError("Enter a month as YYYY-MM, such as 2026-11.")
        chosen = date(int(match[1]), int(match[2]), 1)
        if chosen > self.today.replace(day=1):
            raise forms.ValidationError(
                f"Choose {self.today:%B %Y} or an earlier month: later months have no referrals."
            )
        return chosen


class RemitMarkForm(PlainTextOnly, forms.Form):
    clause = forms.ChoiceField(
        label="The clause of the specification this referral takes you to the limit of",
        widget=forms.RadioSelect,
        help_text="The words are quoted as they stand in the specification in force when the "
        "referral was made. The referrer and the commissioner see them.",
        error_messages={
            "required": "Choose the clause of the specification this referral takes you to "
            "the limit of.",
            "invalid_choice": "Choose one of the clauses listed.",
        },
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=2000,
        error_messages={"max_length": "Keep the note to 2000 characters."},
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you have told the referrer, or what would bring it back within remit.",
    )

    def __init__(self, *args, clauses: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clause"].choices = clauses  # type: ignore[attr-defined]
