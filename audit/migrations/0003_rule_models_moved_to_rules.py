# The rule-set models (RuleVersion, AgeBand, CustomPairRule) now belong to the rules app, which
# took them over in rules/0001 without touching the database. Here the audit app lets go of them
# (state only), and their content types follow them so that permissions given to users and
# groups, and the admin's history of these objects, keep pointing at them.

from django.db import migrations

MODELS = ("ruleversion", "ageband", "custompairrule")


def content_types_to_rules(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    taken = set(ContentType.objects.using(db).filter(app_label="rules", model__in=MODELS).values_list("model", flat=True))
    ContentType.objects.using(db).filter(app_label="audit", model__in=set(MODELS) - taken).update(app_label="rules")


def content_types_to_audit(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    taken = set(ContentType.objects.using(db).filter(app_label="audit", model__in=MODELS).values_list("model", flat=True))
    ContentType.objects.using(db).filter(app_label="rules", model__in=set(MODELS) - taken).update(app_label="audit")


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_default_age_bands'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('rules', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='AgeBand'),
                migrations.DeleteModel(name='CustomPairRule'),
                migrations.DeleteModel(name='RuleVersion'),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_rules, content_types_to_audit),
    ]
