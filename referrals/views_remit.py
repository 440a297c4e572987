"""The VSO lead's remit page, and marking a referral "at the limit of our remit"."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.models import Role
from accounts.permissions import role_required
from commissioning import remit
from commissioning.models import Sector
from core.dates import next_month_start, uk_zone
from core.forms import add_service_errors
from referrals import selectors, services_remit
from referrals.forms_remit import RemitMarkForm, RemitMonthForm
from referrals.selectors_remit import remit_page_for


@role_required(Role.VSO_LEAD)
def remit_page(request):
    today = timezone.localdate(timezone=uk_zone())
    data = request.GET if "month" in request.GET else {"month": f"{today:%Y-%m}"}
    form = RemitMonthForm(data, today=today)
    context = {"form": form, "rule_names": remit.RULE_NAMES, "today": today}
    if form.is_valid():
        month = form.cleaned_data["month"]
        following = next_month_start(month)
        context.update(
            page=remit_page_for(request.user, month=month, today=today),
            previous_month=(month - timedelta(days=1)).replace(day=1),
            next_month=following if following <= today else None,
        )
    return render(request, "referrals/remit_page.html", context)


@login_required
def referral_remit_mark(request, pk):
    referral, mark = selectors.get_remit_mark_for_user(request.user, pk, write=True)
    specification = selectors.remit_specification_for(referral)
    refused = _mark_refused(request, referral, marked=mark is not None, quotable=specification)
    if refused:
        return refused
    form = RemitMarkForm(
        request.POST if request.method == "POST" else None,
        clauses=services_remit.remit_clauses_for(specification=specification),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services_remit.remit_mark_create(
                referral=referral, user=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, MARKED.format(reference=referral.reference))
            return redirect("referral_detail", pk=referral.pk)
    return render(
        request,
        "referrals/remit_mark_form.html",
        {"referral": referral, "specification": specification, "form": form},
    )


MARKED = (
    "{reference} is marked at the limit of your remit. The referrer and the commissioner see the "
    "clause you quoted."
)


def _mark_refused(request, referral, *, marked: bool, quotable) -> HttpResponse | None:
    """Back to the referral, saying why, when there is nothing to mark."""
    if marked and request.method != "POST":
        messages.info(request, f"{referral.reference} is already marked at the limit of remit.")
    elif quotable is None or referral.destination_sector != Sector.VOLUNTARY:
        messages.error(
            request,
            f"{referral.reference} has no specification to quote: it is not a referral to a "
            "voluntary service, or no specification was in force on its day.",
        )
    else:
        return None
    return redirect("referral_detail", pk=referral.pk)


@login_required
def referral_remit_mark_withdraw(request, pk):
    """GET asks to confirm; POST takes the mark back."""
    referral, mark = selectors.get_remit_mark_for_user(request.user, pk, write=True)
    if mark is None:
        messages.info(request, f"{referral.reference} is not marked at the limit of remit.")
        return redirect("referral_detail", pk=referral.pk)
    if request.method == "POST":
        try:
            services_remit.remit_mark_withdraw(mark=mark, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"The mark on {referral.reference} is taken back. Its history keeps what it said.",
            )
        return redirect("referral_detail", pk=referral.pk)
    return render(
        request, "referrals/remit_mark_withdraw.html", {"referral": referral, "mark": mark}
    )
