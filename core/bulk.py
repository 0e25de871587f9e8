"""Writing many rows fast, for jobs that write hundreds of thousands of rows at a time (the history
generator, the dashboards' rollups): ids reserved from the table's own counter, rows given as
tuples in the order of the columns named, written with COPY on PostgreSQL and executemany on
SQLite. No model instance and no per-value ORM work, which is where bulk_create spends its time.

Values are given as a model instance would hold them (str, int, bool, Decimal, date, aware
datetime, dict or list for a JSON field, None for NULL). A column not named gets the field's
default, computed once for all the rows; an auto primary key not named is left to the database."""

import io
import json
import queue
import threading
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

COPY_CHUNK = 20_000  # rows sent per COPY: the text of a chunk is held in memory
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_JSON = json.JSONEncoder(ensure_ascii=False)


@dataclass
class Load:
    """Rows of one table made ready to write: COPY text on PostgreSQL, adapted tuples on SQLite."""

    table: str
    columns: str  # quoted, comma-separated
    payload: list  # lines of COPY text, or tuples
    count: int
    width: int  # columns


def reserve_ids(model, count: int) -> list[int]:
    """`count` new primary keys for `model`, taken from its table's counter so that no other
    writer is given them, whether or not they are inserted in the same transaction."""
    if count <= 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, count]
            )
            return sorted(row[0] for row in cursor.fetchall())
        with transaction.atomic():
            cursor.execute(
                f"SELECT MAX(COALESCE((SELECT MAX({pk}) FROM {connection.ops.quote_name(table)}), 0),"
                " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
                [table],
            )
            (last,) = cursor.fetchone()
            # Move AUTOINCREMENT's counter past the reserved ids, so that the next reservation or
            # ordinary insert starts after them even before they are inserted.
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [last + count, table])
            if cursor.rowcount == 0:
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, last + count])
    return list(range(last + 1, last + count + 1))


def prepare(model, columns: Sequence[str], rows: Iterable[tuple]) -> Load:
    """`rows` (tuples in the order of `columns`, field names or attnames) made ready to write into
    `model`'s table. Raises ValueError for a column left out that has neither a default nor NULL
    allowed, and for a naive datetime."""
    fields = [model._meta.get_field(name) for name in columns]
    missing = [
        f for f in model._meta.concrete_fields if f not in fields and not (f.primary_key and f.get_default() is None)
    ]
    constant = tuple(_default(field) for field in missing)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields + missing)
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        payload = _copy_lines(fields, rows, missing, constant)
    else:
        convert = [_sqlite_converter(field) for field in fields + missing]
        payload = [tuple(c(v) for c, v in zip(convert, row + constant, strict=True)) for row in rows]
    return Load(table, names, payload, len(payload), len(fields) + len(missing))


def write(loads: Iterable[Load]) -> int:
    """Write prepared loads in the current transaction; returns the number of rows."""
    written = 0
    with connection.cursor() as cursor:
        for load in loads:
            if isinstance(load.payload, _CopyText):
                for start in range(0, load.count, COPY_CHUNK):
                    _copy(cursor, load, load.payload[start : start + COPY_CHUNK])
            elif load.payload:
                marks = ", ".join(["%s"] * load.width)
                sql = f"INSERT INTO {load.table} ({load.columns}) VALUES ({marks})"
                cursor.executemany(sql, load.payload)
            written += load.count
    return written


def insert_rows(model, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """prepare() and write() at once, in the current transaction."""
    return write([prepare(model, columns, rows)])


class Writer:
    """Writes batches of loads, each in a transaction of its own, on a thread with its own
    connection on PostgreSQL, so that the caller prepares the next batch while the database takes
    this one; inline on SQLite (one writer at a time) and inside a transaction (whose rows another
    connection could not see, and which must be able to roll back everything). Use as a context
    manager: leaving it waits for the last batch, and an error of the thread is raised in the
    caller."""

    def __init__(self, *, depth: int = 2):
        self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.unchecked = False  # the foreign keys' per-row checks were skipped (see fast_load)
        self.queue, self.error = queue.Queue(maxsize=depth), None
        self.thread = threading.Thread(target=self._run, daemon=True) if self.threaded else None

    def __enter__(self):
        if self.thread:
            self.thread.start()
        return self

    def put(self, loads: list[Load]) -> None:
        if self.threaded:
            self._raise()
            self.queue.put(loads)
        else:
            self._batch(loads)

    def __exit__(self, *exc):
        if self.thread:
            self.queue.put(None)
            self.thread.join()
            if exc[0] is None:
                self._raise()

    def _raise(self):
        if self.error is not None:
            raise RuntimeError("the bulk writer stopped") from self.error

    def _batch(self, loads):
        with bulk_transaction() as unchecked:
            self.unchecked = unchecked
            write(loads)

    def _run(self):
        try:
            while (loads := self.queue.get()) is not None:
                if self.error is None:
                    self._batch(loads)
        except Exception as error:  # handed to the caller's thread
            self.error = error
            while self.queue.get() is not None:  # let the caller's puts through until it stops
                pass
        finally:
            connection.close()


@contextmanager
def bulk_transaction():
    """A transaction for writing rows in bulk; yields whether the foreign keys go unchecked.

    When it is the outermost transaction on PostgreSQL, it commits without waiting for the WAL to
    reach the disk (a crash loses the last batches, never consistency) and, when the database
    user may (a superuser), skips the foreign keys' per-row checks, which cost more than the COPY
    itself: the caller then checks the rows in one pass with `dangling_references`. Nested in
    another transaction (a test's) it is a plain savepoint and changes nothing."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        unchecked = False
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute("SELECT current_setting('is_superuser') = 'on'")
                (unchecked,) = cursor.fetchone()
                if unchecked:
                    cursor.execute("SET LOCAL session_replication_role = replica")
        yield unchecked


def analyze(*models) -> None:
    """Refresh the planner's statistics of the tables after a bulk load: until autovacuum gets
    to them, PostgreSQL plans as if they were as small as before (a month's join scans a whole
    table of herb lines)."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def last_id(model) -> int:
    """The highest primary key in `model`'s table (0 when empty): rows written later are above it."""
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) FROM {connection.ops.quote_name(model._meta.db_table)}")
        return cursor.fetchone()[0]


def dangling_references(model, after_id: int) -> dict[str, int]:
    """For the rows of `model` with a primary key above `after_id`: how many name a row that does
    not exist, per foreign key that has any. One pass over the rows for all the keys."""
    quote, table, pk = connection.ops.quote_name, model._meta.db_table, model._meta.pk.column
    keys = [f for f in model._meta.concrete_fields if f.is_relation and f.db_constraint]
    if not keys:
        return {}
    counts = ", ".join(
        f"COUNT(*) FILTER (WHERE t.{quote(f.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
        f" {quote(f.related_model._meta.db_table)} r WHERE r.{quote(f.target_field.column)} = t.{quote(f.column)}))"
        for f in keys
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts} FROM {quote(table)} t WHERE t.{quote(pk)} > %s", [after_id])
        found = cursor.fetchone()
    return {f.name: n for f, n in zip(keys, found, strict=True) if n}


def _default(field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    value = field.get_default()
    if value is None and not field.null:
        raise ValueError(f"{field.model.__name__}.{field.name} has no default: name it in the columns")
    return value


class _CopyText(list):
    """Lines of COPY text."""


def _copy_lines(named, rows, missing, constant) -> _CopyText:
    """Each row's values in the named fields' order, then the constant values of the missing ones."""
    tail = "".join(f"\t{_copy_converter(f)(v)}" for f, v in zip(missing, constant, strict=True))
    convert = [_copy_converter(field) for field in named]
    lines = _CopyText()
    for row in rows:
        line = "\t".join([c(v) for c, v in zip(convert, row, strict=True)])
        lines.append(line + tail if constant else line)
    return lines


def _copy(cursor, load, lines):
    sql, text = f"COPY {load.table} ({load.columns}) FROM STDIN", "\n".join(lines) + "\n"
    raw = cursor.cursor
    if hasattr(raw, "copy_expert"):  # psycopg2
        raw.copy_expert(sql, io.StringIO(text))
    else:  # psycopg 3
        with raw.copy(sql) as copy:
            copy.write(text)


def _text(value) -> str:
    value = str(value)  # a str, or a choice (a str subclass) as its value
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _aware(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value} given for a bulk insert")
    return value.isoformat()


def _json(value) -> str:
    return _JSON.encode(value).replace("\\", "\\\\")  # JSON escapes tabs and newlines itself


def _copy_converter(field):
    """How a value of `field` is written in COPY's text format (NULL as \\N)."""
    kind = field.get_internal_type()
    if kind in ("CharField", "TextField", "SlugField", "EmailField", "URLField", "FileField"):
        convert = _text
    elif kind == "JSONField":
        convert = _json
    elif kind == "BooleanField":
        convert = _boolean
    elif kind == "DateTimeField":
        convert = _aware
    elif kind == "DateField":
        convert = date.isoformat
    else:  # numbers and keys
        convert = str
    if not field.null and kind != "JSONField":  # a JSON field's None is JSON null unless it may be NULL
        return convert
    return lambda value: "\\N" if value is None else convert(value)


def _boolean(value) -> str:
    return "t" if value else "f"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value} given for a bulk insert")
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_converter(field):
    """How Django's SQLite backend stores a value of `field` (naive UTC datetimes, JSON text)."""
    kind = field.get_internal_type()
    if kind == "JSONField":
        return lambda value: None if value is None else json.dumps(value)
    if kind == "DateTimeField":
        return lambda value: None if value is None else str(_utc(value))
    if kind in ("DecimalField", "DateField"):
        return lambda value: None if value is None else f"{value:f}" if isinstance(value, Decimal) else str(value)
    return lambda value: value
