"""Patient, Consult and ConsultAttachment now belong to the patients app (patients 0001).

State only, nothing in the database changes: Prescription's foreign keys point at the same
tables, now known as patients.Patient and patients.Consult, and this app forgets its copies.
The attachment goes first (it refers to Consult), then Consult (it refers to Patient)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("prescriptions", "0007_precheck"),
        ("patients", "0001_initial"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="prescription",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="prescriptions",
                to="patients.patient",
                verbose_name="patient",
            ),
        ),
        migrations.AlterField(
            model_name="prescription",
            name="consult",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="prescriptions",
                to="patients.consult",
                verbose_name="consult",
            ),
        ),
        migrations.DeleteModel(name="ConsultAttachment"),
        migrations.DeleteModel(name="Consult"),
        migrations.DeleteModel(name="Patient"),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
