"""The patients app takes over Patient, Consult and ConsultAttachment from prescriptions.

State only: the tables were created by prescriptions 0001 and 0003 and keep their names
(`prescriptions_patient`, `prescriptions_patient_allergies`, `prescriptions_consult`,
`prescriptions_consultattachment`), so no row, index or constraint moves. prescriptions 0006 then
points Prescription's foreign keys here and forgets its own copies of these models."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("catalogue", "0001_initial"),
        # The tables exist once prescriptions has run up to the move.
        ("prescriptions", "0005_stuck_flags"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="Patient",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=50, verbose_name="full name")),
                ("sex", models.CharField(choices=[("M", "Male"), ("F", "Female")], max_length=1, verbose_name="sex")),
                ("date_of_birth", models.DateField(verbose_name="date of birth")),
                ("mobile", models.CharField(db_index=True, max_length=11, verbose_name="mobile")),
                ("id_number", models.CharField(blank=True, max_length=18, verbose_name="resident ID number")),
                ("address", models.CharField(blank=True, max_length=200, verbose_name="address")),
                ("township", models.CharField(blank=True, max_length=50, verbose_name="township")),
                ("allergy_notes", models.CharField(blank=True, max_length=200, verbose_name="other allergies")),
                ("notes", models.TextField(blank=True, verbose_name="notes")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "allergies",
                    models.ManyToManyField(
                        blank=True, related_name="allergic_patients", to="catalogue.herb", verbose_name="herb allergies"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "institution",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="patients",
                        to="accounts.institution",
                        verbose_name="registered at",
                    ),
                ),
            ],
            options={
                "verbose_name": "patient",
                "verbose_name_plural": "patients",
                "db_table": "prescriptions_patient",
                "ordering": ["-created_at", "-pk"],
                "indexes": [models.Index(fields=["name"], name="prescriptio_name_f01d7b_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("id_number", ""), _negated=True),
                        fields=("id_number",),
                        name="patient_id_number_unique",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Consult",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "mode",
                    models.CharField(
                        choices=[
                            ("in_person", "In person"),
                            ("visiting_expert", "Visiting expert"),
                            ("remote", "Remote with a village doctor"),
                        ],
                        default="in_person",
                        max_length=20,
                        verbose_name="consult mode",
                    ),
                ),
                ("chief_complaint", models.CharField(blank=True, max_length=200, verbose_name="chief complaint")),
                ("present_illness", models.TextField(blank=True, verbose_name="present illness")),
                ("tongue", models.CharField(blank=True, max_length=100, verbose_name="tongue")),
                ("pulse", models.CharField(blank=True, max_length=100, verbose_name="pulse")),
                ("tcm_disease", models.CharField(max_length=100, verbose_name="TCM disease")),
                ("tcm_syndrome", models.CharField(blank=True, max_length=100, verbose_name="TCM syndrome")),
                ("western_icd10", models.CharField(blank=True, max_length=10, verbose_name="ICD-10 code")),
                ("western_diagnosis", models.CharField(blank=True, max_length=100, verbose_name="western diagnosis")),
                (
                    "pregnancy",
                    models.CharField(
                        choices=[("unknown", "Unknown"), ("no", "Not pregnant"), ("yes", "Pregnant")],
                        default="unknown",
                        max_length=10,
                        verbose_name="pregnancy",
                    ),
                ),
                (
                    "weight_kg",
                    models.DecimalField(
                        blank=True, decimal_places=1, max_digits=5, null=True, verbose_name="weight (kg)"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                (
                    "clinician",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="consults",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="clinician",
                    ),
                ),
                (
                    "institution",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="consults",
                        to="accounts.institution",
                        verbose_name="institution",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="consults",
                        to="patients.patient",
                        verbose_name="patient",
                    ),
                ),
            ],
            options={
                "verbose_name": "consult",
                "verbose_name_plural": "consults",
                "db_table": "prescriptions_consult",
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="ConsultAttachment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("tongue", "Tongue photo"), ("face", "Face photo"), ("other", "Other")],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("image", models.FileField(upload_to="consults/%Y/%m/", verbose_name="photo")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="uploaded at")),
                (
                    "consult",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attachments",
                        to="patients.consult",
                        verbose_name="consult",
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="uploaded by",
                    ),
                ),
            ],
            options={
                "verbose_name": "consult photo",
                "verbose_name_plural": "consult photos",
                "db_table": "prescriptions_consultattachment",
                "ordering": ["created_at"],
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
