from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vsocare.demo import DEMO_PASSWORD, USERS, seed_demo


class Command(BaseCommand):
    help = "Create the synthetic Eastern Health demo data; a second run adds nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even when DJANGO_ENV is production (demo accounts have known passwords).",
        )

    def handle(self, *args, allow_production=False, **options):
        if settings.PRODUCTION and not allow_production:
            raise CommandError(
                "Refusing to create demo accounts with known passwords in production; "
                "pass --allow-production if you really mean it."
            )
        created = seed_demo()
        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(f"Demo data ready ({summary} created).")
        if options["verbosity"] >= 1:
            self.stdout.write(f"Demo sign-ins (password {DEMO_PASSWORD!r} for each):")
            for demo in USERS:
                self.stdout.write(f"  {demo.role.label:<16} {demo.email}")
