"""Concerns: raised on a referral, acknowledged by a deadline, resolved in writing."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from core.conflicts import EditConflict
from core.forms import add_service_errors
from referrals import selectors, selectors_concerns, selectors_deadlines, services_concerns
from referrals.forms import ConcernActionForm, ConcernForm, ConcernListForm, ConcernReplyForm
from referrals.models import Concern


@role_required(Role.ICC, Role.VSO_LEAD, Role.VSO_WORKER, Role.COMMISSIONER)
def concern_list(request):
    filter_form = ConcernListForm(request.GET or None)
    state = (filter_form.is_valid() and filter_form.cleaned_data["state"]) or "all"
    page = Paginator(selectors_concerns.concerns_in_state(request.user, state=state), 25).get_page(
        request.GET.get("page")
    )
    for concern in page:
        concern.actions = selectors_concerns.concern_actions_for(request.user, concern)
    return render(
        request,
        "referrals/concern_list.html",
        {"states": selectors_concerns.CONCERN_STATES.items(), "state": state, "page": page},
    )


@login_required
def concern_raise(request, pk):
    """The form sits on the referral's page; this page shows it again with any errors."""
    referral = selectors.get_referral_for_user(request.user, pk)
    if not selectors_concerns.concern_may_raise(request.user, referral):
        raise PermissionDenied
    form = ConcernForm(
        request.POST or None,
        addressees=selectors_concerns.concern_addressees_for(
            referral=referral, organisation=request.user.organisation
        ),
        deadlines=selectors_deadlines.concern_deadlines_for(
            system_id=referral.organisation.system_id
        ),
    )
    if request.method == "POST" and form.is_valid():
        try:
            concern = services_concerns.concern_raise(
                referral=referral,
                user=request.user,
                addressed_to=form.cleaned_data["addressed_to"],
                severity=form.cleaned_data["severity"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Your concern is raised with {concern.addressed_to.name}, who must "
                f"acknowledge it by {_when(concern.acknowledge_by)}.",
            )
            return redirect(f"{reverse('referral_detail', args=[referral.pk])}#concerns")
    return render(request, "referrals/concern_form.html", {"referral": referral, "form": form})


def _concern_step(request, pk, *, action: str, step, done: str, **arguments):
    """Acknowledge or resolve: the same checks, the same messages, back where the person was."""
    concern = selectors_concerns.get_concern_for_user(request.user, pk, action=action)
    form = ConcernActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That change could not be made: reload the page.")
        return _back(request, concern)
    try:
        step(
            concern=concern,
            user=request.user,
            expected_version=form.cleaned_data["version"],
            **{name: form.cleaned_data[field] for name, field in arguments.items()},
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except EditConflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The concern on {concern.referral.reference} is {done}.")
    return _back(request, concern)


@require_POST
@login_required
def concern_acknowledge(request, pk):
    return _concern_step(
        request,
        pk,
        action="acknowledge",
        step=services_concerns.concern_acknowledge,
        done="acknowledged",
    )


@require_POST
@login_required
def concern_resolve(request, pk):
    return _concern_step(
        request,
        pk,
        action="resolve",
        step=services_concerns.concern_resolve,
        done="resolved",
        resolution="resolution",
    )


@require_POST
@login_required
def concern_reply(request, pk):
    concern = selectors_concerns.get_concern_for_user(request.user, pk, action="reply")
    form = ConcernReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return _back(request, concern)
    try:
        services_concerns.concern_reply(
            concern=concern, user=request.user, text=form.cleaned_data["text"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"Your reply on the concern on {concern.referral.reference} is sent."
        )
    return _back(request, concern)


def _back(request, concern: Concern):
    """To the page the button was on; otherwise the referral, if this person may see it."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    if getattr(concern, "referral_visible", False):  # annotated by concerns_visible_to
        return redirect(f"{reverse('referral_detail', args=[concern.referral_id])}#concerns")
    return redirect("concern_list")


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y \\a\\t H:i")
