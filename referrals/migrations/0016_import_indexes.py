"""Drop the single-column indexes on referrals that only repeat the first column of a composite
index (issue 16, point 3): each was written on every insert and update, and paid for by every
import, while the composite serves every query, and every foreign key check, that the single one
did. Measured in bench/RESULTS.md.

Dropped CONCURRENTLY, as 0013 built its indexes, so that no intake or decision waits on a table
lock; and only when a valid composite index still leads with the column, so that a database
that differs from the models keeps the index it needs."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "referrals_referral"
# Each column, with the composite index of the models that leads with it.
DUPLICATED = {
    "patient_id": "referral_patient_status",
    "referrer_id": "referral_referrer_date",
    "referrer_organisation_id": "referral_team_date",
    "organisation_id": "referral_org_status",
    "service_id": "referral_service_date",
}

_SINGLE_COLUMN_INDEXES = """
SELECT i.indexrelid::regclass::text
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = %s::regclass AND a.attname = %s AND i.indnatts = 1
  AND NOT i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
"""
_LEADING_COMPOSITE = """
SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = %s::regclass AND a.attname = %s AND i.indnatts > 1 AND i.indisvalid
  AND i.indpred IS NULL
"""


def drop_duplicates(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for column in DUPLICATED:
            cursor.execute(_LEADING_COMPOSITE, [TABLE, column])
            if cursor.fetchone() is None:
                continue
            cursor.execute(_SINGLE_COLUMN_INDEXES, [TABLE, column])
            for (index,) in cursor.fetchall():
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")


def restore(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for column in DUPLICATED:
            # The name Django gives a foreign key's own index, as 0001 made it.
            index = schema_editor._create_index_name(TABLE, [column])
            cursor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {TABLE} ({column})")


def _without_index(name: str, to: str, related_name: str, **options) -> migrations.AlterField:
    return migrations.AlterField(
        model_name="referral",
        name=name,
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.PROTECT,
            related_name=related_name,
            to=to,
            **options,
        ),
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("commissioning", "0001_initial"),
        ("referrals", "0015_search_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_duplicates, restore)],
            state_operations=[
                _without_index("patient", "referrals.patient", "referrals"),
                _without_index("referrer", settings.AUTH_USER_MODEL, "referrals_made"),
                _without_index(
                    "referrer_organisation", "commissioning.organisation", "referrals_made"
                ),
                _without_index("organisation", "commissioning.organisation", "referrals_received"),
                _without_index(
                    "service", "commissioning.service", "referrals", blank=True, null=True
                ),
            ],
        ),
    ]
