"""Indexes for the pages people search and page through all day (issue 16, point 1).

The patient search reads a range of a name in capitals, compared byte by byte ("C"), in the
pick list's order; the concern list reads its own order a page at a time; the episodes list finds
the open episodes without reading the ended ones. Built CONCURRENTLY, as 0013's are: a plain
CREATE INDEX would stop every intake for as long as it takes on millions of rows."""

import datetime

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models.functions import Coalesce, Collate, Upper

# referrals.models.concern_stage and concern_resolved_key, as they were when this was written.
CONCERN_STAGE = models.Case(
    models.When(resolved_at__isnull=False, then=models.Value(2)),
    models.When(acknowledged_at__isnull=False, then=models.Value(1)),
    default=models.Value(0),
)
CONCERN_RESOLVED = Coalesce(
    "resolved_at", models.Value(datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC))
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("referrals", "0014_report_requests"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="patient",
            index=models.Index(
                Collate(Upper("family_name"), "C"),
                Collate(Upper("given_name"), "C"),
                models.F("id"),
                include=("family_name", "given_name"),
                name="patient_name_key",
            ),
        ),
        AddIndexConcurrently(
            model_name="patient",
            index=models.Index(
                Collate(Upper("given_name"), "C"),
                include=("family_name", "given_name"),
                name="patient_given_name_key",
            ),
        ),
        AddIndexConcurrently(
            model_name="concern",
            index=models.Index(
                CONCERN_STAGE,
                models.OrderBy(CONCERN_RESOLVED, descending=True),
                models.F("acknowledge_by"),
                models.F("id"),
                name="concern_list_order",
            ),
        ),
        AddIndexConcurrently(
            model_name="episode",
            index=models.Index(
                condition=models.Q(("ended_on__isnull", True)),
                fields=["started_on", "id"],
                name="episode_open",
            ),
        ),
        # The planner knows how many names start with what typed, and how concerns fall among
        # the list's stages, only from statistics on the indexes' expressions, which only
        # ANALYZE gathers: without them it may sort every Edna to show eight.
        migrations.RunSQL(
            "ANALYZE referrals_patient; ANALYZE referrals_concern;", migrations.RunSQL.noop
        ),
    ]
