from django.core.management.base import BaseCommand
from django.utils import timezone

from referrals.services_escalation import escalate_overdue


class Command(BaseCommand):
    help = (
        "Escalate the concerns not acknowledged by their deadline and the statutory waits past "
        "their limit, once, as Celery beat does every five minutes."
    )

    def handle(self, *args, **options):
        self.stdout.write(escalate_overdue(now=timezone.now()).in_words())
