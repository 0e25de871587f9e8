import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Sum


def add_county_rows(apps, schema_editor):
    """The county's StageMonth rows, summed from the institutions' ones the rollups already hold
    (what the next rebuild would write), so the stages page need not wait for a full rebuild."""
    StageMonth = apps.get_model("dashboards", "StageMonth")
    keys = ("month", "step", "urgent", "minutes")
    totals = StageMonth.objects.filter(institution__isnull=False).values(*keys).annotate(total=Sum("count")).order_by()
    StageMonth.objects.bulk_create(
        (StageMonth(institution=None, count=row.pop("total"), **row) for row in totals.iterator()), batch_size=5000
    )


def remove_county_rows(apps, schema_editor):
    apps.get_model("dashboards", "StageMonth").objects.filter(institution__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_tokens"),
        ("dashboards", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="stagemonth",
            name="institution",
            field=models.ForeignKey(
                help_text="None: the county",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.institution",
            ),
        ),
        migrations.RunPython(add_county_rows, remove_county_rows),
    ]
