"""Database helpers: plain SQL for the few queries asked on every request (the names of a
many-to-many relation, model rows loaded from plain SQL), statements sent together in one round
trip, and the connection as a URL for child processes."""

from django.db import DEFAULT_DB_ALIAS, connection, connections

# Joins the names of a relation in one column: a control character no name contains.
NAME_SEPARATOR = "\x1f"


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


def related_names_sql(relation, owner_column: str) -> str:
    """A scalar subquery for plain SQL: `name` of every row linked through the many-to-many
    `relation` to the row whose id is `owner_column` (such as `u.id`), joined by NAME_SEPARATOR
    in one column, so a row and its names are one statement instead of two. Read it back with
    split_names."""
    field, quote = relation.field, connection.ops.quote_name
    target, link = field.related_model._meta, relation.through._meta.db_table
    name = f"t.{quote('name')}"
    joined = (
        f"STRING_AGG({name}, '{NAME_SEPARATOR}')"
        if connection.vendor == "postgresql"
        else f"GROUP_CONCAT({name}, '{NAME_SEPARATOR}')"
    )
    return (
        f"(SELECT {joined} FROM {quote(target.db_table)} t"
        f" JOIN {quote(link)} l ON l.{quote(field.m2m_reverse_name())} = t.{quote(target.pk.column)}"
        f" WHERE l.{quote(field.m2m_column_name())} = {owner_column})"
    )


def split_names(joined: str | None) -> list[str]:
    """The names a related_names_sql column holds (None: no linked row)."""
    return joined.split(NAME_SEPARATOR) if joined else []


class Columns:
    """The columns of `model` (its concrete fields, or those named in `only`) under a table alias
    in plain SQL, and each row's share of them loaded as an instance, converted as the ORM
    converts them. For the few queries asked on every request: compiling the ORM's query costs
    several times sending it."""

    def __init__(self, model, alias: str, only=()):
        self.model, self.alias = model, alias
        self.fields = [f for f in model._meta.concrete_fields if not only or f.attname in only]
        self.attnames = [f.attname for f in self.fields]
        self._converters: dict[str, list] = {}

    def __str__(self) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def table(self) -> str:
        """The model's table under this alias, for FROM and JOIN."""
        return f"{connection.ops.quote_name(self.model._meta.db_table)} {self.alias}"

    def load(self, values):
        """The instance whose columns are `values` (a row's share, in this select list's order)."""
        vendor = connection.vendor  # read once: each read of `connection` goes through a context-local
        if vendor not in self._converters:
            self._converters[vendor] = [_converters(field) for field in self.fields]
        values = [
            _convert(value, field, converters) if converters else value
            for value, field, converters in zip(values, self.fields, self._converters[vendor], strict=True)
        ]
        return self.model.from_db(connection.alias, self.attnames, values)


def loaded(row, *columns: Columns) -> list:
    """`row` cut into the instances of `columns`, in order, then the columns left over."""
    instances, start = [], 0
    for part in columns:
        instances.append(part.load(row[start : start + len(part)]))
        start += len(part)
    return [*instances, *row[start:]]


class PlainQuery:
    """A SELECT asked on every request, written once in plain SQL: `build()` gives its text and
    the Columns its rows start with, for the database in use, on first use. first(params) is the
    first row cut into those instances and the columns left over (loaded), or None."""

    def __init__(self, build):
        self.build, self._built = build, {}

    def first(self, params) -> list | None:
        if connection.vendor not in self._built:
            self._built[connection.vendor] = self.build()
        sql, columns = self._built[connection.vendor]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None else loaded(row, *columns)


# Statement texts built once per (vendor, model, columns, rows): the ORM compiles its statement
# again on every save, which costs more than sending it.
_STATEMENTS: dict[tuple, tuple] = {}


def insert_sql(objs: list, *, returning_pk: bool = False, only=()) -> tuple[str, list]:
    """The INSERT of the model instances `objs` (all of one model) as save() and bulk_create write
    them (auto_now applied; values prepared by each field), not sent: for execute_together or
    insert. `only`: the fields written (the others are left to the database: NULL), for wide
    rows mostly empty. With `returning_pk` the statement returns the new row's primary key."""
    meta = objs[0]._meta
    sql, fields = _insert_statement(meta, tuple(only), len(objs), returning_pk)
    wrapper = connections[DEFAULT_DB_ALIAS]
    return sql, [_prepared(f, f.pre_save(obj, True), wrapper) for obj in objs for f in fields]


def insert_rows_sql(model, rows: list[dict]) -> tuple[str, list]:
    """The INSERT of `rows` ({field attname: value}, the same fields in each; the others left to
    the database) without making model instances: many rows of a hot write."""
    sql, fields = _insert_statement(model._meta, tuple(rows[0]), len(rows), False)
    wrapper = connections[DEFAULT_DB_ALIAS]
    return sql, [_prepared(f, row[f.attname], wrapper) for row in rows for f in fields]


def _insert_statement(meta, only: tuple, count: int, returning_pk: bool) -> tuple[str, list]:
    key = ("insert", connection.vendor, meta.label, only, count, returning_pk)
    if key not in _STATEMENTS:
        fields = [
            f
            for f in meta.local_concrete_fields
            if not f.generated and f is not meta.auto_field and (not only or f.attname in only)
        ]
        quote = connection.ops.quote_name
        row = f"({', '.join(['%s'] * len(fields))})"
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
            f" VALUES {', '.join([row] * count)}" + (f" RETURNING {quote(meta.pk.column)}" if returning_pk else "")
        )
        _STATEMENTS[key] = (sql, fields)
    return _STATEMENTS[key]


# Fields whose plain text, whole-number and true/false values go to the database as they are
# (their get_db_prep_save only checks the type): a hot insert skips the ORM's layers for those.
_AS_THEY_ARE = {
    "CharField": str,
    "TextField": str,
    "SlugField": str,
    "BooleanField": bool,
    "IntegerField": int,
    "SmallIntegerField": int,
    "BigIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "PositiveBigIntegerField": int,
    "ForeignKey": int,
    "OneToOneField": int,
}


def _prepared(field, value, wrapper):
    """`value` as field.get_db_prep_save gives it to the database (`wrapper`)."""
    if value is None or type(value) is _AS_THEY_ARE.get(field.get_internal_type()):
        return value
    return field.get_db_prep_save(value, wrapper)


def insert(obj):
    """Insert `obj` as save() would (insert_sql), and give it its primary key."""
    with connection.cursor() as cursor:
        cursor.execute(*insert_sql([obj], returning_pk=True))
        (obj.pk,) = cursor.fetchone()
    obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS
    return obj


def update_sql(model, filters: dict, values: dict) -> tuple[str, list]:
    """`model.objects.filter(**filters).update(**values)` (filters: exact values of the model's own
    fields), not sent."""
    meta, wrapper = model._meta, connections[DEFAULT_DB_ALIAS]
    key = ("update", connection.vendor, meta.label, tuple(values), tuple(filters))
    if key not in _STATEMENTS:
        where = [meta.pk if name == "pk" else meta.get_field(name) for name in filters]
        changed = [meta.get_field(name) for name in values]
        quote = connection.ops.quote_name
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in changed)}"
            f" WHERE {' AND '.join(f'{quote(f.column)} = %s' for f in where)}"
        )
        _STATEMENTS[key] = (sql, (changed, where))
    sql, (changed, where) = _STATEMENTS[key]
    params = [_prepared(f, value, wrapper) for f, value in zip(changed, values.values(), strict=True)]
    params += [f.get_db_prep_value(value, wrapper) for f, value in zip(where, filters.values(), strict=True)]
    return sql, params


def execute_together(statements: list[tuple[str, tuple]]):
    """Send `statements` ((sql, params) each, in order, inside the caller's transaction) in one
    round trip where the driver allows it (psycopg2 interpolates parameters on the client, so the
    statements travel as one string), one by one elsewhere. Returns the first row of the last
    statement's result, None when it has none."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not _psycopg3():
            cursor.execute(";\n".join(sql for sql, _ in statements), [p for _, params in statements for p in params])
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def _psycopg3() -> bool:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def converted(field, value):
    """`value` of model field `field` as read by plain SQL, converted as the ORM converts it
    (SQLite returns a datetime as text)."""
    return _convert(value, field, _converters(field))


def converter(field):
    """converted() for many values of `field`: the function that converts one."""
    converters = _converters(field)
    return (lambda value: _convert(value, field, converters)) if converters else (lambda value: value)


_CONVERTERS: dict[tuple, list] = {}


def _converters(field) -> list:
    key = (connection.vendor, field)
    if key not in _CONVERTERS:
        _CONVERTERS[key] = connection.ops.get_db_converters(field.cached_col) + field.get_db_converters(connection)
    return _CONVERTERS[key]


def _convert(value, field, converters):
    for converter in converters:
        value = converter(value, field.cached_col, connection)
    return value


def connection_url() -> str:
    """The default database as a DATABASE_URL, for a child process (a worker, a server) that
    must use the same database as this one: a test database, a benchmark's temporary file."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
