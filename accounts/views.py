import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.template.defaultfilters import pluralize
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import services
from accounts import services_notifications as notifications
from accounts.forms import ChangePasswordForm, OneTimeCodeForm, SignInForm
from accounts.models import NotificationKind, Role
from accounts.navigation import home_url_name
from accounts.permissions import role_required
from accounts.selectors import (
    locked_out_until,
    two_factor_device_of,
    users_locked_out_visible_to,
    users_visible_to,
)
from accounts.selectors_notifications import (
    email_choices_for,
    get_notification_for_user,
    notifications_of,
)
from accounts.two_factor import key_in_groups, qr_code_svg
from core.forms import add_service_errors
from core.http import is_path_here


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True
    extra_context = {"failure_limit": settings.AXES_FAILURE_LIMIT}

    def get_default_redirect_url(self) -> str:
        return resolve_url(home_url_name(self.request.user))


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = ChangePasswordForm

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "two_factor_device": two_factor_device_of(self.request.user),
        }


@role_required(Role.ADMINISTRATOR)
def user_list(request):
    locked_only = request.GET.get("locked") == "1"
    people = (users_locked_out_visible_to if locked_only else users_visible_to)(request.user)
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    until = locked_out_until(page)
    rows = [(person, until.get(person.pk)) for person in page]
    return render(
        request, "accounts/user_list.html", {"page": page, "rows": rows, "locked_only": locked_only}
    )


@require_POST
@role_required(Role.ADMINISTRATOR)
def user_unlock(request, pk: int):
    person = get_object_or_404(users_visible_to(request.user), pk=pk)
    services.account_unlock(user=person, by=request.user)
    messages.success(request, f"{person.full_name} can sign in again.")
    return redirect("user_list")


@sensitive_post_parameters("token")
@never_cache
@login_required
def two_factor_verify(request):
    """The second step of signing in: a code from the person's authenticator."""
    if not settings.TWO_FACTOR_REQUIRED or request.user.is_verified():
        return redirect(_next_page(request))
    if two_factor_device_of(request.user) is None:
        return _same_query(request, "two_factor_enrol")
    form = OneTimeCodeForm(request.POST or None)
    if form.is_valid():
        try:
            device = services.two_factor_verify(user=request.user, token=form.cleaned_data["token"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _signed_in(request, device)
    return render(request, "registration/two_factor_verify.html", _context(request, form))


@sensitive_post_parameters("token")
@never_cache
@login_required
def two_factor_enrol(request):
    """Setting up an authenticator, for a person who has none, before their first page."""
    if not settings.TWO_FACTOR_REQUIRED or request.user.is_verified():
        return redirect(_next_page(request))
    if two_factor_device_of(request.user) is not None:
        return _same_query(request, "two_factor_verify")
    form = OneTimeCodeForm(request.POST or None)
    if form.is_valid():
        try:
            device = services.two_factor_enrol(user=request.user, token=form.cleaned_data["token"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _signed_in(request, device)
    device = services.two_factor_enrolment_start(user=request.user)
    context = {**_context(request, form), "qr_code": qr_code_svg(device)}
    context["key"] = key_in_groups(device)
    return render(request, "registration/two_factor_enrol.html", context)


def _signed_in(request, device):
    django_otp.login(request, device)
    # A new session key for the now fully signed-in session, as after the password.
    request.session.cycle_key()
    return redirect(_next_page(request))


def _next_page(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = is_path_here(request, target)
    return target if allowed else resolve_url(home_url_name(request.user))


def _same_query(request, url_name):
    query = request.GET.urlencode()
    return redirect(resolve_url(url_name) + (f"?{query}" if query else ""))


def _context(request, form):
    return {"form": form, "next": _next_page(request)}


# --- Notifications: one's own only; another person's is a 404.


@login_required
def notification_list(request):
    page = Paginator(notifications_of(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "accounts/notification_list.html", {"page": page})


@login_required
def notification_open(request, pk):
    notification = get_notification_for_user(request.user, pk)
    notifications.notification_mark_read(notification=notification, user=request.user)
    # A notification's link is a path on this site, checked by the database.
    return redirect(notification.link)


@login_required
@require_POST
def notifications_mark_all_read(request):
    marked = notifications.notifications_mark_all_read(user=request.user)
    messages.success(request, f"{marked} notification{pluralize(marked)} marked as read.")
    return redirect("notification_list")


@login_required
def notification_settings(request):
    if request.method == "POST":
        wanted = set(request.POST.getlist("email"))
        notifications.email_preferences_set(
            user=request.user,
            kinds_without_email=[kind for kind in NotificationKind.values if kind not in wanted],
        )
        messages.success(request, "Your e-mail choices are saved.")
        return redirect("notification_settings")
    return render(
        request,
        "accounts/notification_settings.html",
        {"choices": email_choices_for(request.user)},
    )
