"""Plain-SQL helpers for the few queries asked on every request."""

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
