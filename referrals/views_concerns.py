"""Concerns: raised on a referral, acknowledged by a deadline, resolved in writing."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from core.conflicts import EditConflict
from core.forms import add_service_errors
from core.http import is_path_here
from core.replica import reads_from_replica
from referrals import referral_page, selectors, selectors_concerns, services_concerns
from referrals.forms import ConcernListForm
from referrals.models import Concern


@reads_from_replica
@role_required(Role.ICC, Role.VSO_LEAD, Role.VSO_WORKER, Role.COMMISSIONER)
def concern_list(request):
    return _list_page(request, request.GET)


def _list_page(request, query: QueryDict, *, status: int = 200, concern_id=None, **bound):
    """The list as `query` asks; `bound` holds a reply or resolution sent from it with a
    mistake, shown open in place under its concern with what was typed."""
    filter_form = ConcernListForm(query or None)
    state = (filter_form.is_valid() and filter_form.cleaned_data["state"]) or "all"
    page = selectors_concerns.concern_list_page(request.user, state=state, query=query)
    referral_page.concerns_with_actions(request.user, page, {"concern_id": concern_id, **bound})
    return render(
        request,
        "referrals/concern_list.html",
        {"states": selectors_concerns.CONCERN_STATES.items(), "state": state, "page": page},
        status=status,
    )


@login_required
def concern_raise(request, pk):
    """The form sits on the referral's page, and comes back there, in place, with any errors."""
    referral = selectors.get_referral_for_user(request.user, pk)
    form = referral_page.concern_form(referral, request.user, request.POST or None)
    if form is None:
        raise PermissionDenied
    if request.method != "POST":
        return redirect(f"{reverse('referral_detail', args=[referral.pk])}#concerns")
    if form.is_valid():
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
    return referral_page.referral_page(request, referral, status=400, concern_form=form)


def _concern_step(request, pk, *, action: str, step, done: str, **arguments):
    """Acknowledge or resolve: the same checks, the same messages, back where the person was."""
    concern = selectors_concerns.get_concern_for_user(request.user, pk, action=action)
    form = referral_page.resolve_form(concern, request.POST)
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
        if action == "resolve" and _from_referral_page(request, concern):
            add_service_errors(form, error)
            return _again_in_place(request, concern, resolve_form=form)
        if action == "resolve" and _from_the_list(request) is not None:
            add_service_errors(form, error)
            return _again_on_the_list(request, concern, resolve_form=form)
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
    form = referral_page.reply_form(concern, request.POST)
    if form.is_valid():
        try:
            services_concerns.concern_reply(
                concern=concern, user=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
    if form.errors:
        if _from_referral_page(request, concern):
            return _again_in_place(request, concern, reply_form=form)
        if _from_the_list(request) is not None:
            return _again_on_the_list(request, concern, reply_form=form)
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
    else:
        messages.success(
            request, f"Your reply on the concern on {concern.referral.reference} is sent."
        )
    return _back(request, concern)


def _from_referral_page(request, concern: Concern) -> bool:
    if not getattr(concern, "referral_visible", False):  # annotated by concerns_visible_to
        return False
    target = urlsplit(request.POST.get("next", ""))
    return target.path == reverse("referral_detail", args=[concern.referral_id])


def _from_the_list(request) -> QueryDict | None:
    """The concerns list's query, when the form was sent from the list."""
    target = urlsplit(request.POST.get("next", ""))
    if target.path != reverse("concern_list"):
        return None
    return QueryDict(target.query)


def _again_on_the_list(request, concern: Concern, **bound):
    """A reply or resolution with a mistake, sent from the list: the list again, as it was,
    with the form open under its concern."""
    query = _from_the_list(request) or QueryDict()
    return _list_page(request, query, status=400, concern_id=concern.pk, **bound)


def _again_in_place(request, concern: Concern, **bound):
    """A reply or resolution with a mistake, sent from the referral's page: that page again,
    the form open in place with what was typed and the error beside it."""
    referral = selectors.get_referral_for_user(request.user, concern.referral_id)
    return referral_page.referral_page(
        request, referral, status=400, concern_id=concern.pk, **bound
    )


def _back(request, concern: Concern):
    """To the page the button was on; otherwise the referral, if this person may see it."""
    target = request.POST.get("next", "")
    if is_path_here(request, target):
        return redirect(target)
    if getattr(concern, "referral_visible", False):  # annotated by concerns_visible_to
        return redirect(f"{reverse('referral_detail', args=[concern.referral_id])}#concerns")
    return redirect("concern_list")


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y \\a\\t H:i")
