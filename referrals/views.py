from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import VSO_ROLES, Role
from accounts.permissions import role_required
from core.conflicts import EditConflict
from core.forms import add_service_errors
from referrals import (
    selectors,
    selectors_concerns,
    selectors_consent,
    selectors_deadlines,
    services,
    services_consent,
    services_identity,
)
from referrals.forms import (
    ConcernForm,
    ConsentForm,
    DecisionForm,
    NhsNumberField,
    PatientDetailsForm,
    ReferralFilter,
    ReferralForm,
)
from referrals.models import AccessKind, Referral
from referrals.services_access import access_record

# The intake form's fields that go to referral_intake as they are.
INTAKE_FIELDS = (
    "source", "destination_sector", "organisation", "service", "needs", "activities", "urgency",
    "reason", "place", "statutory_declined_by", "statutory_decline_reason", "override_reason",
    "lawful_basis", "lawful_basis_reason", "consent_method",
)  # fmt: skip

ACTIONS = {
    "accept": (services.referral_accept, None, "accepted"),
    "decline": (services.referral_decline, "reason", "declined"),
    "record_contact": (services.referral_record_contact, None, "marked as in progress"),
    "close": (services.referral_close, "outcome", "closed"),
    "withdraw": (services.referral_withdraw, "reason", "withdrawn"),
}


@login_required
def referral_list(request):
    if request.user.role == Role.ADMINISTRATOR:
        raise Http404  # administrators see no patients' referrals
    filterset = ReferralFilter(
        request.GET,
        queryset=selectors.with_remit_mark_flag(selectors.referrals_visible_to(request.user)),
        request=request,
    )
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    if request.user.role in VSO_ROLES:
        title = f"Referrals to {request.user.organisation.name}"
    elif request.user.role == Role.COMMISSIONER:
        title = "Referrals across the system"
    else:
        title = "Your team's referrals"
    return render(
        request, "referrals/referral_list.html", {"filter": filterset, "page": page, "title": title}
    )


@role_required(Role.ICC, Role.COMMISSIONER)
def referral_waiting(request):
    page = Paginator(selectors.waiting_on_statutory(request.user), 50).get_page(
        request.GET.get("page")
    )
    today = timezone.localdate()
    for referral in page:
        referral.days_waited = (today - timezone.localtime(referral.referred_at).date()).days
    return render(
        request,
        "referrals/referral_waiting.html",
        {"page": page, "limits": selectors.wait_limits_in_words()},
    )


@login_required
def referral_detail(request, pk):
    referral = selectors.get_referral_for_user(request.user, pk)
    access_record(user=request.user, kind=AccessKind.REFERRAL_VIEW, referral=referral)
    return render(request, "referrals/referral_detail.html", _detail(request.user, referral))


@require_POST
@login_required
def referral_consent(request, pk):
    """Record a patient's decision to give or withdraw consent, from a referral's page."""
    referral = selectors.get_referral_for_user(request.user, pk)
    if not selectors_consent.consent_may_record(request.user, referral):
        raise PermissionDenied
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            consent = services_consent.consent_record(
                referral=referral, user=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{consent} is recorded.")
            return redirect(reverse("referral_detail", args=[referral.pk]) + "#consent")
    # The page is shown again, patient and all: as much a look as opening it.
    access_record(user=request.user, kind=AccessKind.REFERRAL_VIEW, referral=referral)
    context = _detail(request.user, referral, consent_form=form)
    return render(request, "referrals/referral_detail.html", context, status=400)


def _detail(user, referral: Referral, *, consent_form: ConsentForm | None = None) -> dict:
    """The context of a referral's page."""
    may_record_consent = selectors_consent.consent_may_record(user, referral)
    return {
        "referral": referral,
        "actions": selectors.referral_actions_for(user, referral),
        "events": referral.events.select_related("updated_by").order_by("pgh_id"),  # type: ignore[attr-defined]
        "decision_form": DecisionForm(initial={"version": referral.version}),
        "remit_mark": selectors.remit_mark_on(referral),
        "may_mark_remit": selectors.remit_mark_editable_by(user, referral),
        "consents": selectors_consent.consent_history(patient=referral.patient),
        "covered_wait": selectors.wait_of(referral.interim_cover_for)
        if referral.interim_cover_for
        else None,
        "consent_form": (consent_form or ConsentForm()) if may_record_consent else None,
        **_concern_section(user, referral),
    }


@require_POST
@login_required
def referral_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404
    referral = selectors.get_referral_for_user(request.user, pk, action=action)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That change could not be made: reload the referral.")
        return redirect("referral_detail", pk=referral.pk)
    service_call, text_argument, done = ACTIONS[action]
    arguments = {
        "referral": referral,
        "user": request.user,
        "expected_version": form.cleaned_data["version"],
    }
    if text_argument:
        arguments[text_argument] = form.cleaned_data["reason"]
    try:
        service_call(**arguments)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except EditConflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{referral.reference} is {done}.")
    return redirect("referral_detail", pk=referral.pk)


@role_required(Role.ICC)
def referral_create(request):
    form = ReferralForm(request.POST or None, user=request.user)
    patient_form = PatientDetailsForm(request.POST or None)
    if request.method == "POST":
        referral = _create_from_forms(request, form, patient_form)
        if referral:
            messages.success(request, f"Referral {referral.reference} has been sent.")
            return redirect("referral_detail", pk=referral.pk)
    return render(
        request, "referrals/referral_form.html", {"form": form, "patient_form": patient_form}
    )


def _create_from_forms(request, form, patient_form) -> Referral | None:
    form_ok, details_ok = form.is_valid(), patient_form.is_valid()
    if not (form_ok and details_ok):
        return None
    data = form.cleaned_data
    try:
        return services.referral_intake(
            user=request.user,
            nhs_number=data["nhs_number"],
            details=services.NewPatientDetails(**patient_form.cleaned_data),
            interim_cover_for_pk=data.get("interim_cover_for_pk"),
            **{name: data[name] for name in INTAKE_FIELDS},
        )
    except ValidationError as error:
        add_service_errors(form, error, patient_form)
        return None


@require_GET
@role_required(Role.ICC)
def patient_lookup(request):
    """htmx: as the NHS number and date of birth are typed, say whether VSO Care knows the
    patient. Details only for one of the referrer's patients, or when both identifiers match."""
    try:
        number = NhsNumberField().clean(request.GET.get("nhs_number", ""))
    except ValidationError as error:
        return render(request, "referrals/_patient_lookup.html", {"error": error.messages[0]})
    try:
        found = services_identity.patient_lookup(
            user=request.user,
            nhs_number=number,
            date_of_birth=_date_or_none(request.GET.get("date_of_birth")),
        )
    except services_identity.LookupLimitReached as limit:
        response = render(request, "referrals/_patient_lookup.html", {"limit": str(limit)})
        response.status_code = 429
        response["Retry-After"] = str(int(limit.retry_after.total_seconds()) + 1)
        return response
    return render(request, "referrals/_patient_lookup.html", {"found": found})


@require_POST
@role_required(Role.ICC)
def referral_remit_check(request):
    """htmx: the live remit check, capacity and duplicate warning as the form is filled in."""
    form = ReferralForm(request.POST, user=request.user)
    form.is_valid()  # partial input is normal here: use whatever fields are valid so far
    data = form.cleaned_data
    preview = selectors.remit_preview(
        user=request.user,
        destination_sector=data.get("destination_sector"),
        service=data.get("service"),
        urgency=data.get("urgency"),
        needs=data.get("needs") or [],
        activities=data.get("activities") or [],
        nhs_number=data.get("nhs_number"),
        date_of_birth=_date_or_none(request.POST.get("date_of_birth")),
        today=timezone.localdate(),
    )
    return render(request, "referrals/_remit_check.html", {"preview": preview})


def _date_or_none(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@require_GET
@role_required(Role.ICC)
def patient_search(request):
    """htmx: patients matching what is typed, by NHS number or by name, to pick from."""
    return render(
        request,
        "referrals/_patient_search.html",
        {"patients": selectors.patients_matching(request.user, request.GET.get("q", ""))},
    )


def _concern_section(user, referral: Referral) -> dict:
    """The context for the concerns section of a referral's page."""
    concerns = list(selectors_concerns.concerns_on_referral(user, referral))
    for concern in concerns:
        # Read by the template beside each concern.
        concern.actions = selectors_concerns.concern_actions_for(user, concern)  # type: ignore[attr-defined]
    addressees = (
        selectors_concerns.concern_addressees_for(referral=referral, organisation=user.organisation)
        if selectors_concerns.concern_may_raise(user, referral)
        else []
    )
    form = (
        ConcernForm(
            addressees=addressees,
            deadlines=selectors_deadlines.concern_deadlines_for(
                system_id=referral.organisation.system_id
            ),
        )
        if addressees
        else None
    )
    return {"concerns": concerns, "concern_form": form}
