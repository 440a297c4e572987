"""Indexes for each role's list in its default order, read a page at a time (issue 16, point 1).

Built CONCURRENTLY: on millions of referrals a plain CREATE INDEX would stop every intake and
decision for as long as it takes. Depends on 0014 only so that the app has one leaf migration;
neither touches what the other does."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

OPEN_STATUTORY = models.Q(
    ("status__in", ("received", "accepted", "in_progress")),
    models.Q(("destination_sector", "voluntary"), _negated=True),
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("referrals", "0012_outcomes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(fields=["referrer", "referred_at"], name="referral_referrer_date"),
        ),
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(fields=["organisation", "referred_at"], name="referral_org_date"),
        ),
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(fields=["referred_at", "id"], name="referral_date_id"),
        ),
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(
                condition=OPEN_STATUTORY,
                fields=["referrer_organisation", "referred_at"],
                name="referral_team_waiting",
            ),
        ),
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(
                condition=OPEN_STATUTORY,
                fields=["referrer", "referred_at"],
                name="referral_referrer_waiting",
            ),
        ),
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(
                condition=OPEN_STATUTORY,
                fields=["referred_at", "id"],
                name="referral_system_waiting",
            ),
        ),
    ]
