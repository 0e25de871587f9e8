"""On PostgreSQL the application's own SQL cannot change or remove a remote consult's events
either: a trigger refuses UPDATE and DELETE on the table, as on the prescriptions' trace. (SQLite,
the single-machine demo database, relies on the ORM guard.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION tcm_consult_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'remote consult events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS consultevent_append_only ON teleconsult_consultevent;
CREATE TRIGGER consultevent_append_only BEFORE UPDATE OR DELETE ON teleconsult_consultevent
    FOR EACH ROW EXECUTE FUNCTION tcm_consult_events_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS consultevent_append_only ON teleconsult_consultevent;
DROP FUNCTION IF EXISTS tcm_consult_events_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("teleconsult", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
