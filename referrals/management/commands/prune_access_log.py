from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from referrals.services_access import access_records_prune


class Command(BaseCommand):
    help = (
        "Delete the access records older than ACCESS_LOG_RETENTION_DAYS, as the nightly task does."
    )

    def handle(self, *args, **options):
        deleted = access_records_prune(now=timezone.now())
        self.stdout.write(
            f"Deleted {deleted} access record{'' if deleted == 1 else 's'} older than "
            f"{settings.ACCESS_LOG_RETENTION_DAYS} days."
        )
