from django.db import migrations

from commissioning.codes import add_starting_codes


def add_codes(apps, schema_editor):
    # Adds the codes new since 0002 (SWEMWBS); codes a commissioner edited are left alone.
    add_starting_codes(
        apps.get_model("commissioning", "Need"), apps.get_model("commissioning", "OutcomeMeasure")
    )


class Migration(migrations.Migration):
    dependencies = [("commissioning", "0006_outcomes_star_version")]

    operations = [migrations.RunPython(add_codes, migrations.RunPython.noop)]
