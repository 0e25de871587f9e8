"""Every test starts from the database the session set up: the migrations' rows (content types,
permissions, role groups, age bands, the trace cursor) and the shipped catalogue, imported once.

A test in a transaction (the default) leaves it so by rolling back. A transactional test
(transaction=True, live_server) commits, and Django ends it by truncating every table and running
post_migrate again to recreate the content types, permissions and groups; the catalogue was then
imported again by the next test that needed it. On PostgreSQL that came to 2 to 4 s per such test
(TRUNCATE about 1 s, post_migrate 0.5 s, the import 1.5 s; more on a busy machine). Here the
tables are emptied with DELETE and the rows the session started with are copied back, about 0.3 s
in all: the migrations' rows come back with their own ids, the catalogue as the importer wrote it.
"""

from django.core.management import call_command
from django.db import connections, transaction
from django.test import TransactionTestCase

# Placeholders per INSERT, below SQLite's oldest limit (999) and far below PostgreSQL's.
PARAMETERS_PER_INSERT = 900


class SessionRows:
    """The rows of every table of `alias` that holds any, as the database driver returns them, in
    primary key order."""

    def __init__(self, alias: str):
        self.alias = alias
        self.tables: dict[str, tuple[list[str], list[tuple]]] = {}
        connection = connections[alias]
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for table in sorted(connection.introspection.django_table_names(only_existing=True, include_views=False)):
                key = ", ".join(map(quote, connection.introspection.get_primary_key_columns(cursor, table)))
                cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY {key}")
                rows = cursor.fetchall()
                if rows:
                    self.tables[table] = ([column[0] for column in cursor.description], rows)

    def flush_and_restore(self) -> None:
        """Empty every table, then insert the rows again in one transaction (foreign keys are
        checked at its commit, so the tables' order does not matter). Sequences stay where they
        were: new rows get new ids."""
        connection = connections[self.alias]
        if connection.vendor == "postgresql":
            empty_postgresql(connection)
        else:  # SQLite: Django's flush is a DELETE per table already
            options = {"reset_sequences": False, "inhibit_post_migrate": True}
            call_command("flush", verbosity=0, interactive=False, database=self.alias, **options)
        quote = connection.ops.quote_name
        with transaction.atomic(using=self.alias), connection.cursor() as cursor:
            for table, (columns, rows) in self.tables.items():
                per_insert = max(1, PARAMETERS_PER_INSERT // len(columns))
                row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
                into = f"INSERT INTO {quote(table)} ({', '.join(quote(column) for column in columns)}) VALUES "
                for start in range(0, len(rows), per_insert):
                    chunk = rows[start : start + per_insert]
                    cursor.execute(into + ", ".join([row_sql] * len(chunk)), [value for row in chunk for value in row])


def empty_postgresql(connection) -> None:
    """Django's flush TRUNCATEs every table in one statement; on PostgreSQL that makes new files
    for each table and index, about 1 s for this schema and several on a busy machine, while a
    DELETE of the few rows a test wrote takes milliseconds. A table with a row trigger of its
    own (the trace's append-only one refuses DELETE) is truncated, with the tables that refer to it."""
    quote = connection.ops.quote_name
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal")
        triggered = sorted({name for (name,) in cursor.fetchall()} & set(tables))
        if triggered:
            cursor.execute(f"TRUNCATE {', '.join(quote(table) for table in triggered)} CASCADE")
        for table in tables:
            if table not in triggered:
                cursor.execute(f"DELETE FROM {quote(table)}")


def flush_then_restore(session_rows: dict[str, SessionRows]):
    """A TransactionTestCase._fixture_teardown that flushes and puts the session's rows back;
    Django's own for a test that flushes only some apps or restores serialized data."""
    django_teardown = TransactionTestCase._fixture_teardown

    def _fixture_teardown(self):
        if self.available_apps is not None or self.serialized_rollback:
            return django_teardown(self)
        for alias in self._databases_names(include_mirrors=False):
            session_rows[alias].flush_and_restore()

    return _fixture_teardown
