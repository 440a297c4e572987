"""A referral's page, shared by the views whose forms sit on it (consent, decisions, concerns,
replies): a form sent with a mistake comes back on this page, in place, with what was typed,
rather than on a page of its own."""

from collections.abc import Iterable, Mapping

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User
from referrals import (
    selectors,
    selectors_concerns,
    selectors_consent,
    selectors_deadlines,
    selectors_outcomes,
)
from referrals.forms import (
    ConcernActionForm,
    ConcernForm,
    ConcernReplyForm,
    ConsentForm,
    DecisionForm,
)
from referrals.models import AccessKind, Concern, Referral
from referrals.services_access import access_record


def decision_form(data=None, *, action: str = "") -> DecisionForm:
    # Ids per action (decline-reason, close-reason…), as each action has its own form.
    return DecisionForm(data, auto_id=f"{action}-%s" if action else "id_%s")


def concern_form(referral: Referral, user: User, data=None) -> ConcernForm | None:
    """The form to raise a concern, or None when this person may not raise one here."""
    if not selectors_concerns.concern_may_raise(user, referral):
        return None
    addressees = selectors_concerns.concern_addressees_for(
        referral=referral, organisation=user.organisation
    )
    if not addressees:
        return None
    deadlines = selectors_deadlines.concern_deadlines_for(
        system_id=referral.organisation.system_id, kept=True
    )
    return ConcernForm(data, addressees=addressees, deadlines=deadlines)


def reply_form(concern: Concern, data=None) -> ConcernReplyForm:
    return ConcernReplyForm(data, auto_id=f"reply-{concern.pk}-%s")


def resolve_form(concern: Concern, data=None) -> ConcernActionForm:
    return ConcernActionForm(data, auto_id=f"resolve-{concern.pk}-%s")


def concerns_with_actions(user: User, concerns: Iterable[Concern], bound: Mapping) -> None:
    """Give each concern what _concern_actions.html reads beside it: what this person may do
    to it, and the reply or resolution sent with a mistake (`bound`, under concern_id), None
    on the others. Set on every concern: a template's lookup of a missing attribute lists the
    model's every name (dir()) before giving up, 3 ms on a list of 25."""
    for concern in concerns:
        concern.actions = selectors_concerns.concern_actions_for(user, concern)  # type: ignore[attr-defined]
        sent_here = concern.pk == bound.get("concern_id")
        concern.reply_form = bound.get("reply_form") if sent_here else None  # type: ignore[attr-defined]
        concern.resolve_form = bound.get("resolve_form") if sent_here else None  # type: ignore[attr-defined]


def referral_page(
    request: HttpRequest, referral: Referral, *, status: int = 200, **bound: forms.Form | str | int
) -> HttpResponse:
    """Render the page. `bound` holds a form sent with errors, under its context name
    (consent_form, concern_form, decision_form with decision_action, reply_form or
    resolve_form with concern_id), so it is shown in place with its errors."""
    user = request.user
    assert isinstance(user, User)
    # Showing the page again, patient and all, is as much a look as opening it.
    access_record(user=user, kind=AccessKind.REFERRAL_VIEW, referral=referral)
    may_record_consent = selectors_consent.consent_may_record(user, referral)
    concerns = list(selectors_concerns.concerns_on_referral(user, referral))
    concerns_with_actions(user, concerns, bound)
    for concern in concerns:
        concern.replies_shown = selectors_concerns.replies_shown(concern)  # type: ignore[attr-defined]
    context = {
        "referral": referral,
        "actions": selectors.referral_actions_for(user, referral),
        "events": referral.events.select_related("updated_by").order_by("pgh_id"),  # type: ignore[attr-defined]
        "decision_form": DecisionForm(initial={"version": referral.version}),
        "remit_mark": selectors.remit_mark_on(referral),
        "may_mark_remit": selectors.remit_mark_editable_by(user, referral),
        "episode_on_referral": selectors_outcomes.episode_on_referral(user, referral),
        "consents": selectors_consent.consent_history(patient=referral.patient),
        "covered_wait": selectors.covered_wait(referral),
        "consent_form": ConsentForm() if may_record_consent else None,
        "concerns": concerns,
        "concern_form": concern_form(referral, user),
        **bound,
    }
    if "decision_action" in bound:
        # The reason or outcome as typed, with its error, for the one action that was tried.
        context["typed_reason"] = {bound["decision_action"]: context["decision_form"]["reason"]}
    return render(request, "referrals/referral_detail.html", context, status=status)
