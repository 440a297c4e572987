"""Who may see and act on which referral. Every view reaches a referral through here."""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression, Expression
from django.db.models.functions import Upper
from django.db.models.lookups import LessThan
from django.http import Http404
from django.utils import timezone

from accounts.models import VSO_ROLES, Role, User
from accounts.selectors import system_id_of
from commissioning.in_force import specification_in_force
from commissioning.models import Sector, Service, ServiceSpecification
from commissioning.selectors_remit import RemitCheck, service_remit_check
from core.dates import age_on, month_bounds, uk_zone
from referrals.models import (
    CAPACITY_STATUSES,
    OPEN_STATUSES,
    Concern,
    Patient,
    Referral,
    RemitLimitMark,
    name_key,
)
from referrals.selectors_access import lookup_confirmed_recently

# What each side of a referral may do to it. A statutory service rarely uses VSO Care, so the
# referrer's team records its decision and contact; a voluntary one does its own.
RECEIVER_ACTIONS = ("accept", "decline", "record_contact", "close")
REFERRER_ACTIONS = ("withdraw",)


def referrals_visible_to(user: User) -> QuerySet[Referral]:
    """Referrers: their own and their team's. VSO staff: referrals to their organisation.
    Commissioners: every referral in their system. Administrators manage accounts and places;
    they have no need to read patients' referrals, so they see none (referral_scope)."""
    referrals = Referral.objects.select_related(
        "patient", "organisation", "service", "referrer", "referrer_organisation"
    )
    scope = referral_scope(user)
    return referrals.none() if scope is None else referrals.filter(scope)


def referral_scope(user: User, *, through: str = "") -> Q | None:
    """referrals_visible_to's rule as a condition on a referral, or on the referral reached
    from another model `through` a relation ("referral__"): a row already joined to its
    referral is then checked on that row, where an EXISTS would make PostgreSQL gather every
    referral the person may see first. `through` may also name the prefix of a model's own
    copies of a referral's organisation, referrer and team ("referral_", as a concern keeps
    them). None for someone who may see no referral."""
    system_id = system_id_of(user)
    if not user.is_active or system_id is None:
        return None
    # The system first: a referral belongs to the system of the organisation it went to.
    scope = Q(**{f"{through}organisation__system_id": system_id})
    if user.role == Role.ICC:
        team = Q()
        for half in referrer_team_halves(user, through=through):
            team |= half
        return scope & team
    if user.role in VSO_ROLES and user.organisation_id is not None:
        return scope & Q(**{f"{through}organisation_id": user.organisation_id})
    if user.role == Role.COMMISSIONER:
        return scope
    return None


# Those who care for patients: the referrer's side and the organisation a referral went to.
IDENTITY_ROLES = (Role.ICC, *VSO_ROLES)


def identity_visible_to(user: User) -> bool:
    """Whether this person may see who a patient is (name, NHS number, date of birth, postcode)
    on the referrals they can see. Commissioning is a secondary use of the data: commissioners
    see references, dates, services, urgency, status and needs, never a direct identifier."""
    return user.has_role(*IDENTITY_ROLES)


def referrer_team_halves(user: User, *, through: str = "") -> list[Q]:
    """The referrer's side of a referral, as its halves: the ICC who made it, and the team
    (organisation) it was made from, which follows it up when the referrer is away. Each half
    is one index range: "me OR my team" in one WHERE makes PostgreSQL read and sort the whole
    team's referrals to show a page of them."""
    halves = [Q(**{f"{through}referrer": user})]
    if user.organisation_id is not None:
        halves.append(Q(**{f"{through}referrer_organisation_id": user.organisation_id}))
    return halves


def referrals_visible_in_parts(user: User) -> list[QuerySet[Referral]]:
    """referrals_visible_to(user) as querysets whose union it is, for the keyset-paginated lists
    (core.pagination): the referrer's side as its two halves, anyone else as one."""
    visible = referrals_visible_to(user)
    system_id = system_id_of(user)
    if user.role != Role.ICC or not user.is_active or system_id is None:
        return [visible]
    in_system = Referral.objects.filter(organisation__system_id=system_id)
    return [in_system.filter(half) for half in referrer_team_halves(user)]


def referral_list_rows() -> QuerySet[Referral]:
    """What a list shows of each referral (core.pagination's `rows`): the patient, where it
    went, and the remit-limit badge, in the same query. Only what the list shows is joined:
    each table costs PostgreSQL 2-3 ms of planning. Unscoped: the page's parts decide which
    referrals."""
    return with_remit_mark_flag(
        Referral.objects.select_related("patient", "organisation", "service")
    )


def in_referrer_team(user: User, referral: Referral) -> bool:
    """referrer_team_halves for a referral already in hand, without a query."""
    return user.role == Role.ICC and (
        referral.referrer_id == user.pk
        or (
            user.organisation_id is not None
            and referral.referrer_organisation_id == user.organisation_id
        )
    )


def referral_actions_for(user: User, referral: Referral) -> set[str]:
    """The lifecycle actions this person may take on this referral, whatever its status."""
    actions: set[str] = set()
    if user.role in VSO_ROLES and referral.organisation_id == user.organisation_id:
        actions.update(RECEIVER_ACTIONS)
    if in_referrer_team(user, referral):
        actions.update(REFERRER_ACTIONS)
        if referral.destination_sector != Sector.VOLUNTARY:
            actions.update(RECEIVER_ACTIONS)
    return actions


def get_referral_for_user(user: User, pk: int, *, action: str | None = None) -> Referral:
    """404 for a referral the person may not see, so its existence is not disclosed;
    403 for one they may see but not change in this way."""
    related = [
        "remit_mark__marked_by",
        "remit_mark__specification",
        # Those a concern may be addressed to, for the page's concern form.
        "statutory_declined_by",
        "interim_cover_for__organisation",
    ]
    if user.role in VSO_ROLES:
        # Only the voluntary organisation's own people see its episode (episode_on_referral):
        # each table joined costs everyone else 2-3 ms of planning.
        related.append("episode")
    found = (
        referrals_visible_to(user)
        .select_related(*related)
        .annotate(
            # Whether concerns_on_referral need ask at all: most referrals have none.
            has_concerns=Exists(Concern.objects.filter(referral=OuterRef("pk"))),
            # The wait it covers for, as the page shows it (covered_wait).
            **wait_annotations(now=timezone.now(), path="interim_cover_for__", prefix="covered_"),
        )
        .filter(pk=pk)
    )
    try:
        # get(), not first(): first()'s ORDER BY made Django hash each of the ~170 columns
        # selected, 9 ms a page.
        referral = found.get()
    except Referral.DoesNotExist:
        raise Http404("No such referral") from None
    # Found through the person's own scope: consent_may_record need not ask the database again.
    referral.visible_to_user_id = user.pk  # type: ignore[attr-defined]
    if action is not None and action not in referral_actions_for(user, referral):
        raise PermissionDenied
    return referral


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """A patient is visible to whoever may see one of their referrals. Anyone else finds a
    patient only by NHS number and date of birth together (patient_match)."""
    if not user.is_authenticated:
        return Patient.objects.none()
    return Patient.objects.filter(pk__in=referrals_visible_to(user).values("patient_id")).distinct()


DUPLICATE_WINDOW = timedelta(days=30)
# How long a patient confirmed by NHS number and date of birth stays confirmed for the form.
CONFIRMATION_LASTS = timedelta(hours=2)


class Match(StrEnum):
    KNOWN = "known"  # the patient has a referral this person can see
    CONFIRMED = "confirmed"  # NHS number and date of birth match one patient
    ASK_DATE_OF_BIRTH = "ask_date_of_birth"  # nothing shown until the second identifier
    NOT_MATCHED = "not_matched"  # the number is known, with another date of birth
    NEW = "new"  # no patient has this NHS number


@dataclass(frozen=True)
class PatientMatch:
    match: Match
    patient: Patient | None = None

    @property
    def shows_identity(self) -> bool:
        return self.match in (Match.KNOWN, Match.CONFIRMED)


def patient_match(
    *, user: User, nhs_number: str, date_of_birth: date | None
) -> tuple[PatientMatch, Patient | None]:
    """What this NHS number and date of birth tell this referrer, and the patient the number
    belongs to. The details are theirs to see (`PatientMatch.patient`) only when the patient
    already has a referral they can see, or when both identifiers match one record, as NHS
    demographic checks ask; the second value is for the access log and the intake, never for
    showing. Reads only: referrals.services_identity logs and limits lookups."""
    if not user.has_role(Role.ICC):
        return PatientMatch(Match.ASK_DATE_OF_BIRTH), None
    patient = Patient.objects.filter(nhs_number=nhs_number).first()
    if patient is None:
        return PatientMatch(Match.NEW if date_of_birth else Match.ASK_DATE_OF_BIRTH), None
    if patients_visible_to(user).filter(pk=patient.pk).exists():
        return PatientMatch(Match.KNOWN, patient), patient
    if date_of_birth is None:
        return PatientMatch(Match.ASK_DATE_OF_BIRTH), patient
    if patient.date_of_birth == date_of_birth:
        return PatientMatch(Match.CONFIRMED, patient), patient
    return PatientMatch(Match.NOT_MATCHED), patient


# A search's first words each have an index range of their own (patients_matching); any more
# only narrow what those ranges find.
SEARCH_WORDS_RANGED = 3


def patients_matching(user: User, text: str, *, limit: int = 8) -> list[Patient]:
    """The referrer's own patients (those with a referral they can see) whose NHS number or
    name starts as typed, each word the start of the given or the family name, in order of
    family then given name whatever their case: a pick list, never a search of everyone.

    Read a few at a time from the name indexes (models.name_key), not by gathering everyone
    who matches and sorting them: "Mars" matches a ninth of the patients of a system that
    knows many Marshes. Each word may start the family name, a range of the ordered index
    read only as far as the list needs; a match whose words all start the given name is in
    the given name's index. Whether the team knows the patient is asked of each candidate in
    turn (EXISTS over the patient's few referrals), so the team's own thousands of referrals
    are never gathered either."""
    text = text.strip()
    if len(text) < 2 or not user.is_authenticated:
        return []
    visible = Patient.objects.filter(
        Exists(referrals_visible_to(user).filter(patient_id=OuterRef("pk")))
    )
    digits = text.replace(" ", "")
    if digits.isdigit():
        return list(visible.filter(nhs_number=digits)) if len(digits) == 10 else []
    keys = {"family_key": name_key("family_name"), "given_key": name_key("given_name")}
    words = text.split()
    # Capitals as the database writes them, so a word matches the index whatever its letters.
    typed = {word: Upper(Value(word)) for word in words}
    matched = visible.annotate(**keys)
    for word in words:
        matched = matched.filter(
            Q(family_key__startswith=typed[word]) | Q(given_key__startswith=typed[word])
        )
    ranged = words[:SEARCH_WORDS_RANGED]
    parts = [matched.filter(Q(family_key__startswith=typed[word])) for word in ranged]
    # Words that cannot all start one given name ("edna mar") leave that range empty: not read.
    longest = max(ranged, key=len).upper()
    if all(longest.startswith(word.upper()) for word in ranged):
        parts.append(matched.filter(*(Q(given_key__startswith=typed[word]) for word in ranged)))
    order = ("family_key", "given_key", "pk")
    limited = [part.order_by(*order).values("pk")[:limit] for part in parts]
    found = Patient.objects.annotate(**keys).filter(pk__in=limited[0].union(*limited[1:]))
    return list(found.order_by(*order)[:limit])


@dataclass(frozen=True)
class Overlap:
    """An open referral for the same need. Its details (`referral`) only for someone who may
    see that referral; anyone else learns that it exists, for which need and since when."""

    needs: list[str]
    since: datetime
    referral: Referral | None


def overlapping_referrals(
    *, user: User, patient: Patient, needs: list[str], now: datetime | None = None
) -> list[Overlap]:
    """Open referrals for the same patient with a need in common, made in the last 30 days,
    to any organisation: the warning that stops two agencies turning up at the house."""
    now = now or timezone.now()
    if not needs:
        return []
    referrals = (
        Referral.objects.filter(
            patient=patient,
            status__in=OPEN_STATUSES,
            referred_at__gte=now - DUPLICATE_WINDOW,
            needs__overlap=needs,
        )
        .annotate(
            visible=Exists(referrals_visible_to(user).filter(pk=OuterRef("pk"))),
        )
        .select_related("organisation", "service")
        .order_by("-referred_at")
    )
    return [
        Overlap(
            needs=[code for code in referral.needs if code in needs],
            since=referral.referred_at,
            referral=referral if referral.visible else None,
        )
        for referral in referrals
    ]


@dataclass
class RemitPreview:
    """What the intake form shows beside itself as it is filled in."""

    check: RemitCheck | None = None
    overlaps: list[Overlap] = field(default_factory=list)


def remit_preview(
    *,
    user: User,
    destination_sector: str | None,
    service: Service | None,
    urgency: str | None,
    needs: list[str],
    activities: list[str],
    nhs_number: str | None,
    date_of_birth: date | None,
    today: date,
) -> RemitPreview:
    """The live remit check of a referral being written (with the capacity left this month), and
    the patient's open referrals for the same need. Works on whatever is filled in so far: the
    check needs a voluntary service and an urgency, the overlap warning a patient the referrer
    may see (patient_match) and a need. A patient VSO Care knows is judged by their recorded
    date of birth."""
    preview = RemitPreview()
    patient = None
    if nhs_number:
        found = patient_match(user=user, nhs_number=nhs_number, date_of_birth=date_of_birth)[0]
        # A patient confirmed by both identifiers counts only once the lookup, which is limited
        # and logged, confirmed them: otherwise this check, run on every change, would be a
        # way to guess dates of birth unseen.
        if found.match == Match.KNOWN or (
            found.match == Match.CONFIRMED
            and found.patient is not None
            and lookup_confirmed_recently(
                user=user,
                patient_id=found.patient.pk,
                since=timezone.now() - CONFIRMATION_LASTS,
            )
        ):
            patient = found.patient
    if destination_sector == Sector.VOLUNTARY and service is not None and urgency:
        born = patient.date_of_birth if patient else date_of_birth
        preview.check = service_remit_check(
            service=service,
            urgency=urgency,
            activities=activities or needs,
            patient_age=age_on(born, today) if born else None,
            on_date=today,
        )
    if patient is not None and needs:
        preview.overlaps = overlapping_referrals(user=user, patient=patient, needs=needs)
    return preview


def waiting_on_statutory(user: User, *, now: datetime | None = None) -> QuerySet[Referral]:
    """Open referrals to health and social care, oldest first, with any voluntary cover, each
    with when its wait reaches its limit and whether it has passed it (with_wait_limit)."""
    return with_wait_limit(
        referrals_visible_to(user)
        .filter(status__in=OPEN_STATUSES)
        .exclude(destination_sector=Sector.VOLUNTARY)
        .prefetch_related("interim_cover__organisation")
        .order_by("referred_at"),
        now=now or timezone.now(),
    )


def waiting_in_parts(user: User) -> list[QuerySet[Referral]]:
    """waiting_on_statutory's referrals as parts (referrals_visible_in_parts), for its list."""
    return [
        part.filter(status__in=OPEN_STATUSES).exclude(destination_sector=Sector.VOLUNTARY)
        for part in referrals_visible_in_parts(user)
    ]


def waiting_rows(*, now: datetime) -> QuerySet[Referral]:
    """What the waiting list shows of each wait: its limit and its interim cover (the covers
    with their organisations in one query)."""
    covers = Prefetch("interim_cover", queryset=Referral.objects.select_related("organisation"))
    waits = Referral.objects.select_related("patient", "organisation").prefetch_related(covers)
    return with_wait_limit(waits, now=now)


def with_wait_limit(referrals: QuerySet[Referral], *, now: datetime) -> QuerySet[Referral]:
    """Adds `wait_limit_at`, when the referral's urgency says it should have had first contact
    (settings.STATUTORY_WAIT_LIMITS), and `past_wait_limit`: still no contact after that. In
    the same query, so lists of any length stay one query."""
    return referrals.annotate(**wait_annotations(now=now))


def wait_annotations(*, now: datetime, path: str = "", prefix: str = "") -> dict[str, Expression]:
    """with_wait_limit's two annotations, of the referral itself or of one reached by `path`
    (named with `prefix`): when it should have had first contact, and whether it is past that
    with no contact yet."""
    limit = wait_limit_at(path=path)
    return {
        f"{prefix}wait_limit_at": limit,
        f"{prefix}past_wait_limit": ExpressionWrapper(
            Q(**{f"{path}first_contact_at__isnull": True}) & Q(LessThan(limit, Value(now))),
            output_field=BooleanField(),
        ),
    }


def wait_limit_at(*, path: str = "") -> "ExpressionWrapper[CombinedExpression]":
    """When a referral's urgency says it should have had first contact: `referred_at` plus its
    urgency's limit (settings.STATUTORY_WAIT_LIMITS). `path` reaches a related referral, such
    as "interim_cover_for__" for the wait a voluntary referral covers."""
    limit = Case(
        *(
            When(**{f"{path}urgency": urgency}, then=Value(allowed))
            for urgency, allowed in settings.STATUTORY_WAIT_LIMITS.items()
        ),
        output_field=DurationField(),
    )
    return ExpressionWrapper(F(f"{path}referred_at") + limit, output_field=DateTimeField())


def wait_limits_in_words() -> str:
    """ "4 hours for an emergency, 2 days if urgent, …", as the waiting list explains them."""
    words = []
    for urgency, allowed in settings.STATUTORY_WAIT_LIMITS.items():
        hours = int(allowed.total_seconds() // 3600)
        amount = f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
        words.append(f"{amount} ({urgency})")
    return ", ".join(words)


def statutory_waits_past_limit(user: User, *, now: datetime | None = None) -> QuerySet[Referral]:
    """The waits on health and social care this person can see that have passed their limit."""
    # past_wait_limit is with_wait_limit's annotation, which the type stubs cannot see.
    return waiting_on_statutory(user, now=now).filter(past_wait_limit=True)  # type: ignore[misc]


def covered_wait(referral: Referral, *, now: datetime | None = None) -> Referral | None:
    """The statutory referral a voluntary referral covers for, as the waiting list shows it
    (with its limit), for the covering referral's page; None when it covers for none, or once
    that one no longer waits. Read with the referral by get_referral_for_user (its `covered_`
    annotations), else here."""
    covered = referral.interim_cover_for
    if covered is None:
        return None
    if hasattr(referral, "covered_wait_limit_at"):
        if covered.status not in OPEN_STATUSES:
            return None
        covered.wait_limit_at = referral.covered_wait_limit_at  # type: ignore[attr-defined]
        covered.past_wait_limit = referral.covered_past_wait_limit  # type: ignore[attr-defined]
        return covered
    return (
        with_wait_limit(
            Referral.objects.filter(pk=covered.pk, status__in=OPEN_STATUSES),
            now=now or timezone.now(),
        )
        .select_related("organisation")
        .first()
    )


# --- "At the limit of our remit" -----------------------------------------------------------


def remit_mark_editable_by(user: User, referral: Referral) -> bool:
    """Only a lead of the organisation a referral went to may mark it at the limit of remit, or
    take the mark back: the mark speaks for the organisation to the referrer and commissioner."""
    return (
        user.is_authenticated
        and user.role == Role.VSO_LEAD
        and user.organisation_id is not None
        and user.organisation_id == referral.organisation_id
    )


def get_remit_mark_for_user(
    user: User, referral_pk: int, *, write: bool = False
) -> tuple[Referral, RemitLimitMark | None]:
    """The referral and its mark (None when unmarked). 404 for a referral the person may not
    see, as get_referral_for_user; 403 for writing by anyone but a lead of its organisation."""
    referral = (
        referrals_visible_to(user)
        .select_related("remit_mark__marked_by", "remit_mark__specification__framework")
        .filter(pk=referral_pk)
        .first()
    )
    if referral is None:
        raise Http404("No such referral")
    if write and not remit_mark_editable_by(user, referral):
        raise PermissionDenied
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    return referral, getattr(referral, "remit_mark", None)


def remit_mark_on(referral: Referral) -> RemitLimitMark | None:
    """The mark for the referral page, for everyone who may see the referral. One read with
    the referral when it came through get_referral_for_user."""
    if Referral.remit_mark.is_cached(referral):
        # None when the join found no mark: the descriptor raises an AttributeError then.
        return getattr(referral, "remit_mark", None)
    return (
        RemitLimitMark.objects.filter(referral=referral)
        .select_related("marked_by", "specification")
        .first()
    )


def remit_specification_for(referral: Referral) -> ServiceSpecification | None:
    """The version a mark on this referral quotes: the one in force on its day in the UK."""
    if referral.service is None:
        return None
    day = timezone.localtime(referral.referred_at, uk_zone()).date()
    return specification_in_force(service=referral.service, on_date=day)


def with_remit_mark_flag(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    """Adds `at_remit_limit` to each row in the same query, for lists that show a badge."""
    return referrals.annotate(
        at_remit_limit=Exists(RemitLimitMark.objects.filter(referral=OuterRef("pk")))
    )


def capacity_used(*, service_ids: Collection[int], on_date: date) -> dict[int, int]:
    """Referrals counted against each service's monthly capacity in the month of the date (UK
    time). Declined and withdrawn referrals took none of it; everything else did. The directory
    and the remit check reach this through commissioning.capacity."""
    start, end = month_bounds(on_date)
    return dict(
        Referral.objects.filter(
            service__in=service_ids,
            referred_at__gte=start,
            referred_at__lt=end,
            status__in=CAPACITY_STATUSES,
        )
        .values_list("service")
        .annotate(n=Count("id"))
        .values_list("service", "n")
    )
