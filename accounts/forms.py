from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        # The same words whether the email is unknown or the password wrong: never say which.
        "invalid_login": "The email address or password is not right. Check them and try again.",
        "inactive": "The email address or password is not right. Check them and try again.",
    }
