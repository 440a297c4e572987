from django.db import migrations

from commissioning.codes import add_starting_codes


def add_codes(apps, schema_editor):
    add_starting_codes(
        apps.get_model("commissioning", "Need"), apps.get_model("commissioning", "OutcomeMeasure")
    )


class Migration(migrations.Migration):
    dependencies = [("commissioning", "0001_initial")]

    operations = [migrations.RunPython(add_codes, migrations.RunPython.noop)]
