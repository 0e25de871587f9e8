"""On PostgreSQL the application's own SQL cannot change or remove trace events either: a trigger
refuses UPDATE and DELETE on the table. (Django's test flush uses TRUNCATE, which row triggers do
not see. SQLite, the single-machine demo database, relies on the ORM guard.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION tcm_trace_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'trace events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS traceevent_append_only ON prescriptions_traceevent;
CREATE TRIGGER traceevent_append_only BEFORE UPDATE OR DELETE ON prescriptions_traceevent
    FOR EACH ROW EXECUTE FUNCTION tcm_trace_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS traceevent_append_only ON prescriptions_traceevent;
DROP FUNCTION IF EXISTS tcm_trace_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("prescriptions", "0003_consult_photos")]
    operations = [migrations.RunPython(create, drop)]
