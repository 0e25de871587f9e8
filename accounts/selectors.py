"""Reads of accounts on every request's path."""

from functools import cache

from django.db import connection

from .models import ApiToken, Institution, User


def token_with_user(key_hash: str) -> ApiToken | None:
    """The token whose secret hashes to `key_hash`, with its user and the user's institution
    loaded, in one statement; None when there is none.

    Every API request authenticates, and the ORM would compile the same three-table join each
    time — most of what authentication cost. The statement is built once per process from the
    models' own fields and the rows are turned into models with the backend's converters, so a
    field added to a model is read here too."""
    sql, models = _token_statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    loaded, start = [], 0
    for model, fields in models:
        values = list(row[start : start + len(fields)])
        start += len(fields)
        for index, field in enumerate(fields):
            column, converters = _converters(field)
            for converter in converters:
                values[index] = converter(values[index], column, connection)
        loaded.append(
            None if values[0] is None else model.from_db(connection.alias, [f.attname for f in fields], values)
        )
    token, user, institution = loaded
    user.institution = institution
    token.user = user
    return token


@cache
def _token_statement(vendor: str) -> tuple[str, list]:
    qn = connection.ops.quote_name
    models = [(ApiToken, "t"), (User, "u"), (Institution, "i")]
    columns = ", ".join(f"{alias}.{qn(field.column)}" for model, alias in models for field in _fields(model))
    sql = (
        f"SELECT {columns} FROM {qn(ApiToken._meta.db_table)} t "
        f"JOIN {qn(User._meta.db_table)} u ON u.{qn(User._meta.pk.column)} = t.{qn(_column(ApiToken, 'user'))} "
        f"LEFT JOIN {qn(Institution._meta.db_table)} i "
        f"ON i.{qn(Institution._meta.pk.column)} = u.{qn(_column(User, 'institution'))} "
        f"WHERE t.{qn(_column(ApiToken, 'key_hash'))} = %s"
    )
    return sql, [(model, _fields(model)) for model, _alias in models]


def _fields(model) -> list:
    """The model's columns, primary key first (a missing joined row is a None primary key)."""
    pk = model._meta.pk
    return [pk, *(field for field in model._meta.concrete_fields if field is not pk)]


def _column(model, name: str) -> str:
    return model._meta.get_field(name).column


@cache
def _converters(field) -> tuple:
    """The field's column and what the ORM would apply to its value as read from this backend
    (SQLite's text dates, for one)."""
    column = field.get_col(field.model._meta.db_table)
    return column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)
