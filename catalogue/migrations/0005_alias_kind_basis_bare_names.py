import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0004_herb_rule_data"),
    ]

    operations = [
        migrations.RenameField(model_name="herbalias", old_name="source", new_name="basis"),
        migrations.AlterField(
            model_name="herbalias",
            name="basis",
            field=models.CharField(
                help_text="The source that names this alias.", max_length=300, verbose_name="basis"
            ),
        ),
        migrations.AddField(
            model_name="herbalias",
            name="kind",
            field=models.CharField(
                choices=[("synonym", "Synonym or old name"), ("dispensing", "Dispensing convention")],
                default="synonym",
                max_length=12,
                verbose_name="kind",
            ),
        ),
        migrations.CreateModel(
            name="BareName",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("written", models.CharField(max_length=20, unique=True, verbose_name="name as written")),
                ("basis", models.CharField(max_length=300, verbose_name="basis")),
                (
                    "herb",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalogue.herb",
                        verbose_name="herb dispensed",
                    ),
                ),
            ],
            options={
                "verbose_name": "bare name dispensed processed",
                "verbose_name_plural": "bare names dispensed processed",
                "ordering": ["written"],
            },
        ),
    ]
