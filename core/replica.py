"""Reading from a PostgreSQL read replica (docs/deploy.md, "The database").

With DATABASE_REPLICA_URL set, settings add the alias "replica". Only the pages a view marks
with @reads_from_replica (the dashboard, the lists, the report pages and their CSVs) read from
it, and then only the referrals and commissioning tables. Everything else reads the primary:

- writes, and whatever a write reads back (select_for_update, get_or_create);
- sessions, users, two-factor devices, sign-in records and beat's schedule: a replica a moment
  behind must never sign someone out, let a locked account in or send a task twice;
- anything inside transaction.atomic, which wants one consistent view of the primary;
- Celery tasks, even one run eagerly inside a marked page: the nightly reports and escalations
  decide what to write from what they read;
- a browser that wrote a moment ago (ReplicaPinMiddleware), so a person sees their own change
  on the list they are sent back to, however far behind the replica is.

Without the alias every read is on the primary, as on one machine.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from celery import current_task
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest
from django.http.response import HttpResponseBase

REPLICA = "replica"
# The apps whose tables a marked page may read from the replica. Not accounts, sessions, auth,
# django_otp, axes or django_celery_beat: see the module's docstring.
REPLICA_APPS = frozenset({"commissioning", "referrals"})
# Set on a view (or a class-based view's class) by @reads_from_replica.
MARK = "reads_from_replica"
PIN_COOKIE = "vsocare_primary"
PIN_SALT = "core.replica.pin"
# The reads a marked page may send to the replica; and the methods that change nothing, so
# leave a browser unpinned.
READ_METHODS = frozenset({"GET", "HEAD"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)

V = TypeVar("V", bound=Callable[..., Any])


def replica_configured() -> bool:
    return REPLICA in connections.settings


def reads_from_replica(view: V) -> V:
    """Mark a view whose GET may read from the replica: a page that only reads, where figures a
    second old are as good as current."""
    setattr(view, MARK, True)
    return view


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads within may go to the replica, subject to ReplicaRouter's other rules."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def may_read_replica(model: type[Model], hints: dict[str, Any]) -> bool:
    if not _replica_reads.get() or model._meta.app_label not in REPLICA_APPS:
        return False
    if not replica_configured() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return False
    if current_task:  # the task stack is thread-local, and eager tasks are on it too
        return False
    # A related object reached from one read on the primary (request.user.organisation) comes
    # from the primary too, as Django would fetch it with no router.
    instance = hints.get("instance")
    return not (instance is not None and instance._state.db == DEFAULT_DB_ALIAS)


class ReplicaRouter:
    """settings.DATABASE_ROUTERS. Answers only "replica" or "default"."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        # Not None for "no opinion": Django would then read an object's relations from
        # wherever the object came from, the replica even inside transaction.atomic.
        return REPLICA if may_read_replica(model, hints) else DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        # Never the replica, even for an object read from it: with no router Django would
        # write it back where it came from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # The replica is a copy of the primary: a referral read there may point at a service
        # read here.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # A physical replica replays the primary's migrations; it refuses writes of its own.
        return False if db == REPLICA else None


def _pinned(request: HttpRequest) -> bool:
    return (
        request.get_signed_cookie(
            PIN_COOKIE,
            default=None,
            salt=PIN_SALT,
            max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
        )
        is not None
    )


class ReplicaPinMiddleware:
    """Lets a marked view's GET read from the replica, unless this browser changed something in
    the last DATABASE_REPLICA_PIN_SECONDS: a successful POST (or other unsafe request) sets a
    signed cookie that keeps its reads on the primary until the replica has surely caught up.
    A cookie rather than the session: no write on every POST, and any web host can check it
    with the shared SECRET_KEY. Does nothing without a replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not replica_configured():
            return self.get_response(request)
        request.replica_pinned = _pinned(request)  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            # Set by process_view; reset after the template is rendered, which reads too.
            token = getattr(request, "_replica_token", None)
            if token is not None:
                _replica_reads.reset(token)
        if request.method not in SAFE_METHODS and response.status_code < 400:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=PIN_SALT,
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        view_class = getattr(view_func, "view_class", None)
        marked = getattr(view_func, MARK, False) or getattr(view_class, MARK, False)
        if (
            marked
            and request.method in READ_METHODS
            and not getattr(request, "replica_pinned", True)
        ):
            request._replica_token = _replica_reads.set(True)  # type: ignore[attr-defined]
