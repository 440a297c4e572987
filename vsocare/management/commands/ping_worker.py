import time

from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.management.base import BaseCommand, CommandError

from vsocare.tasks import ping


class Command(BaseCommand):
    help = (
        "Send the vsocare.ping task through the broker and wait for a worker's answer: a full "
        "round trip (broker, worker, result store). Exits non-zero if none comes in time."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout", type=float, default=30.0, help="Seconds to wait (default 30)."
        )

    def handle(self, *args, timeout: float, **options):
        started = time.monotonic()
        try:
            result = ping.apply_async(expires=timeout, retry=False)
        except Exception as error:
            raise CommandError(f"Could not send the ping task to the broker: {error}") from None
        try:
            answer = result.get(timeout=timeout)
        except CeleryTimeout:
            raise CommandError(f"No worker answered the ping task within {timeout:g} s.") from None
        finally:
            result.forget()
        self.stdout.write(f"{answer} from a worker in {time.monotonic() - started:.2f} s")
