"""The people the load test (bench/load.py) signs in as: demo-style accounts beside the demo's
five, so that 50 simulated users are 50 people. See bench/README.md, "The load test".

    VSOCARE_VAR_DIR=/tmp/vso_load .venv/bin/python bench/load_accounts.py

Why not 50 sessions of the demo's three accounts: a person may look up 120 patients an hour
(PATIENT_LOOKUPS_PER_HOUR), a limit that 30 simulated referrers sharing Ivy Carter's account
reach in minutes, and every other per-person part of a page (notifications, "needs attention
now") would be one person's. The accounts are made like the demo's, in its system, with its
public password; run it only against a copy of VSO Care made for the load test, after `make
run` (or `python -m vsocare.launcher`) has loaded the demo there. It is idempotent: an account
that exists is left as it is. It refuses to run on a database that holds anything but synthetic
data (bench/guard.py): an NHS number outside the 999 range, an account at a real domain.

    load-icc-01@eastern-health.example …       referrers in Ivy Carter's team
    load-lead-01@vso-load.example …            VSO leads, spread over the demo's voluntary
                                               organisations in turn
    load-commissioner-01@eastern-health.example …  commissioners of the demo's care board
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vsocare.settings")

if not (os.environ.get("VSOCARE_VAR_DIR") or os.environ.get("DATABASE_URL")):
    # Without either, this would be the project's own var/: the copy someone develops with.
    sys.exit(
        "Set VSOCARE_VAR_DIR (or DATABASE_URL) to the load test's own copy of VSO Care, "
        "as bench/README.md says."
    )

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from guard import refuse_unless_synthetic  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from accounts.services import user_create  # noqa: E402
from commissioning.models import Organisation, Sector  # noqa: E402
from vsocare.demo import DEMO_PASSWORD  # noqa: E402
from vsocare.demo_directory import USERS  # noqa: E402

# The demo people whose organisation each load account joins.
DEMO_ICC = next(user for user in USERS if user.role == Role.ICC)
DEMO_COMMISSIONER = next(user for user in USERS if user.role == Role.COMMISSIONER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iccs", type=int, default=30)
    parser.add_argument("--leads", type=int, default=10)
    parser.add_argument("--commissioners", type=int, default=10)
    options = parser.parse_args()
    if settings.PRODUCTION:
        sys.exit("These accounts have the demo's public password: not in production.")
    refuse_unless_synthetic(connection, connection.settings_dict["NAME"])

    demo_icc = User.objects.filter(email__iexact=DEMO_ICC.email).select_related("organisation")
    if not demo_icc.exists():
        sys.exit("The demo is not loaded here: start VSO Care once (make run) first.")
    icc_team = demo_icc.get().organisation
    system_id = icc_team.system_id
    board = Organisation.objects.get(system_id=system_id, name=DEMO_COMMISSIONER.organisation)
    charities = list(
        Organisation.objects.filter(
            system_id=system_id, sector=Sector.VOLUNTARY, active=True
        ).order_by("name")
    )

    made = 0
    for n in range(1, options.iccs + 1):
        made += _account(f"load-icc-{n:02}@eastern-health.example", Role.ICC, icc_team, n)
    for n in range(1, options.leads + 1):
        charity = charities[(n - 1) % len(charities)]
        made += _account(f"load-lead-{n:02}@vso-load.example", Role.VSO_LEAD, charity, n)
    for n in range(1, options.commissioners + 1):
        made += _account(
            f"load-commissioner-{n:02}@eastern-health.example", Role.COMMISSIONER, board, n
        )
    total = options.iccs + options.leads + options.commissioners
    print(f"Load accounts: {made} created, {total - made} already there.")


def _account(email: str, role: str, organisation: Organisation, n: int) -> int:
    if User.objects.filter(email__iexact=email).exists():
        return 0
    user_create(
        email=email,
        full_name=f"Load {Role(role).label} {n:02}",
        role=role,
        organisation=organisation,
        job_title="Load test",
        password=DEMO_PASSWORD,
    )
    return 1


if __name__ == "__main__":
    main()
