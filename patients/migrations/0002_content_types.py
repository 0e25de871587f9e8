"""Existing databases: the content types of the moved models change app label from
`prescriptions` to `patients`, keeping their ids. Their permissions (held by the administrator
group) and the admin's history rows stay attached instead of being orphaned beside new ones.

On a fresh database there is nothing to rename: post_migrate creates the content types under
`patients`."""

from django.db import migrations

MODELS = ("patient", "consult", "consultattachment")


def relabel(apps, schema_editor, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        # If post_migrate already made the new one (a partly migrated database), keep it.
        if not ContentType.objects.using(db).filter(app_label=new, model=model).exists():
            ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor):
    relabel(apps, schema_editor, "prescriptions", "patients")


def backwards(apps, schema_editor):
    relabel(apps, schema_editor, "patients", "prescriptions")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
