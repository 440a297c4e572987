from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="vsocare.ping")
def ping() -> str:
    """Answers "pong": proves a worker is consuming from the broker (tests, and operators
    with `celery --app vsocare call vsocare.ping`)."""
    return "pong"


@shared_task(name="vsocare.clear_expired_sessions")
def clear_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
