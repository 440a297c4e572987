from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.navigation import home_url_name
from accounts.permissions import role_required
from accounts.selectors import colleagues_of, user_counts_by_role
from commissioning.selectors import organisation_counts_by_place
from referrals.models import OPEN_STATUSES, ReferralStatus
from referrals.selectors import (
    referrals_visible_to,
    statutory_waits_past_limit,
    waiting_on_statutory,
)
from referrals.selectors_attention import needs_attention
from vsocare.health import run_checks


@login_required
def home(request):
    return redirect(home_url_name(request.user))


@role_required(Role.ICC)
def icc_home(request):
    visible = referrals_visible_to(request.user)
    return render(
        request,
        "home/icc.html",
        {
            "attention": needs_attention(user=request.user),
            "place_counts": organisation_counts_by_place(request.user),
            "open_count": visible.filter(status__in=OPEN_STATUSES).count(),
            "recent": visible.order_by("-referred_at")[:8],
            "waiting_count": waiting_on_statutory(request.user).count(),
            "past_limit_count": statutory_waits_past_limit(request.user).count(),
        },
    )


def _vso_inbox(user):
    return referrals_visible_to(user).filter(status=ReferralStatus.RECEIVED).order_by("referred_at")


@role_required(Role.COMMISSIONER)
def commissioner_home(request):
    return render(
        request,
        "home/commissioner.html",
        {
            "attention": needs_attention(user=request.user),
            "place_counts": organisation_counts_by_place(request.user),
            "past_limit_count": statutory_waits_past_limit(request.user).count(),
        },
    )


@role_required(Role.VSO_LEAD)
def vso_lead_home(request):
    return render(
        request,
        "home/vso_lead.html",
        {
            "attention": needs_attention(user=request.user),
            "colleagues": colleagues_of(request.user),
            "inbox": _vso_inbox(request.user)[:20],
        },
    )


@role_required(Role.VSO_WORKER)
def vso_worker_home(request):
    return render(
        request,
        "home/vso_worker.html",
        {
            "attention": needs_attention(user=request.user),
            "colleagues": colleagues_of(request.user),
            "inbox": _vso_inbox(request.user)[:20],
        },
    )


@role_required(Role.ADMINISTRATOR)
def administrator_home(request):
    return render(
        request, "home/administrator.html", {"role_counts": user_counts_by_role(request.user)}
    )


@never_cache
@require_GET
def health(request):
    checks = run_checks(
        broker_url=settings.CELERY_BROKER_URL,
        timeout=settings.HEALTH_TIMEOUT_SECONDS,
        beat_stale_after=settings.HEALTH_BEAT_STALE_SECONDS,
    )
    failing = [name for name, check in checks.items() if not check.ok]
    return JsonResponse(
        {
            "status": "failing" if failing else "ok",
            **{name: check.ok for name, check in checks.items()},
            "failing": failing,
            "detail": {name: check.detail for name, check in checks.items()},
        },
        status=503 if failing else 200,
    )
