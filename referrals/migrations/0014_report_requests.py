"""Reports asked for by a page are computed by a task, not in the request: a snapshot may now be
one place's, and a run says whether a page asked for it, so that two people asking for the same
period at once start one task between them (issue 16, point 4)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("commissioning", "0007_swemwbs_code"),
        ("referrals", "0013_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="reportsnapshot",
            name="place",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="report_snapshots",
                to="commissioning.place",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="reportsnapshot",
            name="report_snapshot_one_per_system_and_period",
        ),
        migrations.AddConstraint(
            model_name="reportsnapshot",
            constraint=models.UniqueConstraint(
                fields=("system", "kind", "date_from", "date_to", "place"),
                name="report_snapshot_one_per_period_and_place",
                nulls_distinct=False,
            ),
        ),
        migrations.AddField(
            model_name="reportrun",
            name="place",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="report_runs",
                to="commissioning.place",
            ),
        ),
        migrations.AddField(
            model_name="reportrun",
            name="requested",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="reportrun",
            index=models.Index(
                fields=["system", "date_from", "date_to", "kind"], name="report_run_period"
            ),
        ),
        migrations.AddConstraint(
            model_name="reportrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("outcome", "running"), ("requested", True)),
                fields=("system", "kind", "date_from", "date_to", "place"),
                name="report_run_one_request_running",
                nulls_distinct=False,
            ),
        ),
    ]
