"""A baseline snapshot of every commissioning record already here when history began.

0004 (generated alongside the access log) creates the event tables and the triggers that keep
the history of organisations, services, frameworks and specifications (docs/security.md,
"History"). Rows written before it have no snapshot, so the first change to each would show
what it changed to but not from; this gives each one a snapshot labelled as the baseline
(core.history.BASELINE), which the page compares with and does not list.
"""

from django.db import migrations

TRACKED = {
    "Organisation": "OrganisationEvent",
    "Service": "ServiceEvent",
    "CommissioningFramework": "CommissioningFrameworkEvent",
    "ServiceSpecification": "ServiceSpecificationEvent",
}


def record_baseline(apps, schema_editor):
    quote = schema_editor.quote_name
    for tracked_name, event_name in TRACKED.items():
        tracked = apps.get_model("commissioning", tracked_name)
        event = apps.get_model("commissioning", event_name)
        columns = ", ".join(
            quote(field.column)
            for field in event._meta.concrete_fields
            if not field.name.startswith("pgh_")
        )
        schema_editor.execute(
            f"INSERT INTO {quote(event._meta.db_table)} "
            f"({columns}, pgh_created_at, pgh_label, pgh_obj_id) "
            f"SELECT {columns}, NOW(), 'baseline', id FROM {quote(tracked._meta.db_table)}"
        )


class Migration(migrations.Migration):
    dependencies = [("commissioning", "0004_history")]

    operations = [migrations.RunPython(record_baseline, migrations.RunPython.noop)]
