"""Children's dose shares of the adult maximum, from 《中药学》 (新世纪规划教材): 新生儿用成人量的1/6，
乳婴儿为成人量的1/3，幼儿为成人量的1/2，学龄儿童为成人量的2/3. Administrators may edit them."""

from decimal import Decimal

from django.db import migrations

BANDS = [
    (Decimal("0.0767"), Decimal("0.167"), "新生儿"),  # under 28 days
    (Decimal("1"), Decimal("0.333"), "乳婴儿"),
    (Decimal("7"), Decimal("0.5"), "幼儿"),
    (Decimal("14"), Decimal("0.667"), "学龄儿童"),
]


def add_bands(apps, schema_editor):
    AgeBand = apps.get_model("audit", "AgeBand")
    for below, factor, label in BANDS:
        AgeBand.objects.get_or_create(below_years=below, defaults={"factor": factor, "label": label})


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(add_bands, migrations.RunPython.noop)]
