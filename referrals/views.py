import uuid
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import VSO_ROLES, Role
from accounts.permissions import role_required
from core.conflicts import EditConflict
from core.forms import add_service_errors
from core.pagination import keyset_page
from core.replica import reads_from_replica
from referrals import (
    selectors,
    selectors_consent,
    services,
    services_consent,
    services_identity,
)
from referrals.forms import (
    ConsentForm,
    NhsNumberField,
    PatientDetailsForm,
    ReferralFilter,
    ReferralForm,
)
from referrals.models import Referral
from referrals.referral_page import decision_form, referral_page

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


@reads_from_replica
@login_required
def referral_list(request):
    if request.user.role == Role.ADMINISTRATOR:
        raise Http404  # administrators see no patients' referrals
    parts = selectors.referrals_visible_in_parts(request.user)
    filterset = ReferralFilter(request.GET, queryset=parts[0], request=request)
    # The filters narrow each part alike. As FilterSet.qs does, a filter that does not
    # validate is shown with its error and left out; the others still apply.
    filterset.is_valid()
    parts = [filterset.filter_queryset(part) for part in parts]
    page = keyset_page(
        parts,
        rows=selectors.referral_list_rows(),
        query=request.GET,
        field="referred_at",
        newest_first=True,
        size=25,
    )
    if request.user.role in VSO_ROLES:
        title = f"Referrals to {request.user.organisation.name}"
    elif request.user.role == Role.COMMISSIONER:
        title = "Referrals across the system"
    else:
        title = "Your team's referrals"
    return render(
        request, "referrals/referral_list.html", {"filter": filterset, "page": page, "title": title}
    )


@reads_from_replica
@role_required(Role.ICC, Role.COMMISSIONER)
def referral_waiting(request):
    # Longest wait first: the list's order is the oldest referral first.
    page = keyset_page(
        selectors.waiting_in_parts(request.user),
        rows=selectors.waiting_rows(now=timezone.now()),
        query=request.GET,
        field="referred_at",
        newest_first=False,
        size=50,
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
    return referral_page(request, referral)


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
    return referral_page(request, referral, status=400, consent_form=form)


@require_POST
@login_required
def referral_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404
    referral = selectors.get_referral_for_user(request.user, pk, action=action)
    form = decision_form(request.POST, action=action)
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
        # The reason or outcome is missing: back on the referral's page with what was typed.
        if text_argument and hasattr(error, "error_dict"):
            form.add_error("reason", error.messages)
        else:
            form.add_error(None, error.messages)
        return referral_page(
            request, referral, status=400, decision_form=form, decision_action=action
        )
    except EditConflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{referral.reference} is {done}.")
    return redirect("referral_detail", pk=referral.pk)


@role_required(Role.ICC)
def referral_create(request):
    # Bound on every POST, an empty one too: it is shown again with its errors.
    sent = request.POST if request.method == "POST" else None
    form = ReferralForm(sent, user=request.user, initial={"submission": uuid.uuid4()})
    patient_form = PatientDetailsForm(sent)
    context = {"form": form, "patient_form": patient_form}
    if request.method == "POST":
        try:
            referral = _create_from_forms(request, form, patient_form)
        except services.AlreadySent as sent:
            messages.info(
                request,
                f"Referral {sent.referral.reference} was sent from this form already; "
                "nothing new was sent.",
            )
            return redirect("referral_detail", pk=sent.referral.pk)
        if referral:
            messages.success(request, f"Referral {referral.reference} has been sent.")
            return redirect("referral_detail", pk=referral.pk)
        # Shown again with all that was typed, and the remit check of it (also without JS).
        context.update(_remit_context(request, form))
    return render(request, "referrals/referral_form.html", context)


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
            submission=data.get("submission"),
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
    # Whether the patient's consent to share is on record decides the intake's next step, and
    # is shown only with the details the identity rules already allow.
    consent = (
        selectors_consent.consent_in_force(patient=found.patient)
        if found.shows_identity and found.patient is not None
        else None
    )
    return render(request, "referrals/_patient_lookup.html", {"found": found, "consent": consent})


@require_POST
@role_required(Role.ICC)
def referral_remit_check(request):
    """htmx: the live remit check, capacity and duplicate warning as the form is filled in."""
    form = ReferralForm(request.POST, user=request.user)
    form.is_valid()  # partial input is normal here: use whatever fields are valid so far
    return render(request, "referrals/_remit_check.html", _remit_context(request, form))


def _remit_context(request, form: ReferralForm) -> dict:
    """The remit check of what the form holds so far. It judges only once it has a voluntary
    service and at least one need; until then the template says what it is waiting for."""
    data = form.cleaned_data
    needs = data.get("needs") or []
    service = data.get("service")
    preview = selectors.remit_preview(
        user=request.user,
        destination_sector=data.get("destination_sector"),
        service=service if needs else None,
        urgency=data.get("urgency"),
        needs=needs,
        activities=data.get("activities") or [],
        nhs_number=data.get("nhs_number"),
        date_of_birth=_date_or_none(request.POST.get("date_of_birth")),
        today=timezone.localdate(),
    )
    return {
        "form": form,
        "preview": preview,
        "remit_sector": data.get("destination_sector"),
        "remit_service": service,
    }


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
