from typing import Any

from django import forms


class DateInput(forms.DateInput):
    """The browser's date picker. It only accepts ISO dates (2026-11-23): with the site's UK
    format (23/11/2026) it would show an empty box and an edit would lose the saved date."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
