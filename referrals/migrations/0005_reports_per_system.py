"""Reports belong to one integrated care system each.

Existing snapshots and runs go to the system when there is only one; with several there is no
telling which system a snapshot counted (it counted them all), so they are deleted, and the
next night's run makes each system's own (it also catches up the days it missed).
"""

import django.db.models.deletion
from django.db import migrations, models


def assign_the_only_system(apps, schema_editor):
    System = apps.get_model("commissioning", "System")
    ReportSnapshot = apps.get_model("referrals", "ReportSnapshot")
    ReportRun = apps.get_model("referrals", "ReportRun")
    systems = list(System.objects.values_list("pk", flat=True)[:2])
    if len(systems) == 1:
        ReportSnapshot.objects.update(system_id=systems[0])
        ReportRun.objects.update(system_id=systems[0])
    else:
        ReportSnapshot.objects.all().delete()
        ReportRun.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("commissioning", "0003_specification_labels"),
        ("referrals", "0004_report_snapshot_referral_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="reportsnapshot",
            name="system",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="report_snapshots",
                to="commissioning.system",
            ),
        ),
        migrations.AddField(
            model_name="reportrun",
            name="system",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="report_runs",
                to="commissioning.system",
            ),
        ),
        migrations.RunPython(assign_the_only_system, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="reportsnapshot",
            name="system",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="report_snapshots",
                to="commissioning.system",
            ),
        ),
        migrations.AlterField(
            model_name="reportrun",
            name="system",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="report_runs",
                to="commissioning.system",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="reportsnapshot", name="report_snapshot_one_per_period"
        ),
        migrations.AddConstraint(
            model_name="reportsnapshot",
            constraint=models.UniqueConstraint(
                fields=("system", "kind", "date_from", "date_to"),
                name="report_snapshot_one_per_system_and_period",
            ),
        ),
    ]
