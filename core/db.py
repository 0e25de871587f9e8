"""Database helpers: plain SQL for the few queries asked on every request, and the connection as
a URL for child processes."""

from django.db import connection


def related_names(relation, owner_id: int) -> list[str]:
    """`name` of every row linked to `owner_id` through the many-to-many `relation` (such as
    User.groups). On the hot paths (every API call, every submit) compiling the ORM's join
    costs several times the query itself, so this is written once in plain SQL."""
    field, quote = relation.field, connection.ops.quote_name
    target, link = field.related_model._meta, relation.through._meta.db_table
    sql = (
        f"SELECT t.{quote('name')} FROM {quote(target.db_table)} t"
        f" JOIN {quote(link)} l ON l.{quote(field.m2m_reverse_name())} = t.{quote(target.pk.column)}"
        f" WHERE l.{quote(field.m2m_column_name())} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [owner_id])
        return [name for (name,) in cursor.fetchall()]


def connection_url() -> str:
    """The default database as a DATABASE_URL, for a child process (a worker, a server) that
    must use the same database as this one: a test database, a benchmark's temporary file."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
