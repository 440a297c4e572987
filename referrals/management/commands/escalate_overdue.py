from django.core.management.base import BaseCommand
from django.utils import timezone

from referrals.services_escalation import concerns_escalate_overdue


class Command(BaseCommand):
    help = (
        "Escalate the concerns not acknowledged by their deadline, once, as Celery beat does "
        "every five minutes."
    )

    def handle(self, *args, **options):
        escalated = concerns_escalate_overdue(now=timezone.now())
        self.stdout.write(f"{escalated} concern{'' if escalated == 1 else 's'} escalated.")
