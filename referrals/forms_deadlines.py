from django import forms

from referrals.deadlines import MAXIMUM, Deadline
from referrals.models import ConcernSeverity


class ConcernDeadlinesForm(forms.Form):
    """A deadline per severity, each in its severity's unit, with the amount the administrator
    saw carried in a hidden field so that a change made meanwhile by someone else is refused."""

    def __init__(self, *args, deadlines: dict[str, Deadline], **kwargs):
        super().__init__(*args, **kwargs)
        for severity, label in ConcernSeverity.choices:
            deadline = deadlines[severity]
            most = MAXIMUM[deadline.unit]
            self.fields[severity] = forms.IntegerField(
                label=f"{label}: {deadline.unit.label}",
                min_value=1,
                max_value=most,
                initial=deadline.amount,
                help_text=f"From 1 to {most} {deadline.unit.label}.",
                error_messages={
                    "required": f"Give the number of {deadline.unit.label}.",
                    "invalid": f"Give a whole number of {deadline.unit.label}.",
                    "min_value": f"Give at least 1 of {deadline.unit.label}.",
                    "max_value": f"Give at most {most} {deadline.unit.label}.",
                },
            )
            self.fields[f"seen_{severity}"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=deadline.amount
            )

    def amounts(self) -> dict[str, int]:
        return {severity: self.cleaned_data[severity] for severity in ConcernSeverity.values}

    def seen(self) -> dict[str, int]:
        return {
            severity: self.cleaned_data[f"seen_{severity}"] for severity in ConcernSeverity.values
        }
