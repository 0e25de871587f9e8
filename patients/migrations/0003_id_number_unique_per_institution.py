from django.db import migrations, models


class Migration(migrations.Migration):
    """The resident ID number is unique per institution, not county-wide: a person registered at
    an institution the clinician may not see is registered again rather than disclosed."""

    dependencies = [
        ("patients", "0002_content_types"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="patient",
            name="patient_id_number_unique",
        ),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.UniqueConstraint(
                condition=models.Q(("id_number", ""), _negated=True),
                fields=("institution", "id_number"),
                name="patient_id_number_unique_per_institution",
            ),
        ),
    ]
