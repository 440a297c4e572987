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


@shared_task(name="vsocare.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Sent by beat every minute so that beat always has something recent to have sent; the
    time it was sent is what /health/ reads (vsocare.beat)."""
