"""The waiting list's two indexes carry the id and the organisation, so that its count up to
its bound reads the index alone (issue 16, point 1). The new ones are built CONCURRENTLY before
the old ones are dropped, as 0015's are: the list is never without an index, and intake never
waits on a CREATE INDEX over millions of rows."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

WAITING = models.Q(("status__in", ("received", "accepted", "in_progress"))) & ~models.Q(
    destination_sector="voluntary"
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("referrals", "0017_concern_referral_parties"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(
                condition=WAITING,
                fields=["referrer_organisation", "referred_at"],
                include=["organisation", "id"],
                name="referral_waiting_by_team",
            ),
        ),
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(
                condition=WAITING,
                fields=["referrer", "referred_at"],
                include=["organisation", "id"],
                name="referral_waiting_by_referrer",
            ),
        ),
        RemoveIndexConcurrently(model_name="referral", name="referral_team_waiting"),
        RemoveIndexConcurrently(model_name="referral", name="referral_referrer_waiting"),
    ]
