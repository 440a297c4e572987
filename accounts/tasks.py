from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts.services import sign_in_records_prune


@shared_task(name="accounts.prune_sign_in_records")
def prune_sign_in_records() -> int:
    return sign_in_records_prune(older_than=timedelta(days=settings.SIGN_IN_RECORD_DAYS))
